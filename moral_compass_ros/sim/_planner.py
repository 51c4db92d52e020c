# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Simulated planner: candidate action sets in a slowly changing context (private module).

What is simulated
-----------------
A task planner that, at every decision point ``t``, proposes ``B`` candidate actions for the
current context ``s_t``.  Every action has a hidden *value fingerprint* -- a point on the value
simplex saying how strongly the action expresses each of the ``M`` axiomatic values -- and a
hidden true task reward.  The planner publishes what a real planner would: a feature vector, a
noisy estimate of the task reward with its spread, and (optionally) a noisy value-profile hint.

Generative model (per request ``t``; ``b`` indexes candidates)
----------------------------------------------------------------
* Context, a stationary AR(1) process with unit marginal variance::

      s_0 ~ N(0, I_C),   s_{t+1} = rho s_t + sqrt(1 - rho^2) eps_t,   eps_t ~ N(0, I_C)

  The context shifts *which actions are on offer* (through ``G``) and *which task qualities
  pay off* (through ``U``): think of time pressure, people nearby, or a supervisor present.
* Fingerprint: logits ``l_b = G s_t + sigma_fp xi_b``, ``xi_b ~ N(0, I_M)``;
  ``fp_b = softmax(l_b)`` (on the simplex by construction).
* Task latents ``z_b ~ N(0, I_K)`` (how fast/precise/safe the action is for the task).
* True task reward ``r_b = R_SCALE * (w + U s_t) . z_b``.
* Features, a fixed random linear embedding of the fingerprint's centred log-ratio plus the
  task latents plus noise::

      phi_b = A clr(fp_b) + Bz z_b + sigma_phi nu_b,   nu_b ~ N(0, I_F)

  ``[A | Bz]`` has orthonormal columns when ``F >= M + K`` (else i.i.d. Gaussian columns), so
  ``clr(fp_b)`` -- and hence ``fp_b = softmax(clr(fp_b))`` -- is linearly decodable from the
  features up to the feature noise: a learner mapping features (+ context) to a Dirichlet
  concentration has something real to learn.  ``F >= M - 1`` is required (``clr`` lives in an
  ``M - 1`` dimensional subspace).
* Planner's reward estimate: ``reward_std_b = sigma_r * u_b``, ``u_b ~ U[0.5, 1.5]``, and
  ``reward_mean_b = r_b + reward_std_b * n_b``, ``n_b ~ N(0, 1)`` (the spread is honest).
* Value hint (when sent): ``hint_b = softmax(clr(fp_b) + sigma_h zeta_b)``; rows of NaN when
  the planner does not send one.

Spaces
------
``context``: R^C, ``features``: R^{B x F}, ``reward_mean``/``reward_std``/``true_reward``:
R^B (reward units), ``true_fingerprint``/``value_hints``: simplex rows, shape (B, M).

Rewards / episode end
---------------------
The planner has no episode of its own: it proposes for as long as it is asked.  Rewards are
the true task rewards ``true_reward``; approval comes from the simulated people
(:mod:`moral_compass_ros.sim._people`).  Episode length is a scenario setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from ._simplex import SeedLike, as_generator, clr, project_rows_to_simplex, softmax

#: Std of the per-candidate fingerprint logit noise sigma_fp (logit units). 1.5 gives
#: fingerprints ranging from near-uniform to strongly dominated by one value.
FINGERPRINT_LOGIT_STD = 1.5
#: Std of each entry of the context -> fingerprint-logit coupling G (logit per context unit,
#: divided by sqrt(C) so the total effect does not grow with C).
CONTEXT_LOGIT_COUPLING = 0.8
#: AR(1) coefficient rho of the context process per request (dimensionless).
CONTEXT_AR_COEF = 0.9
#: Number K of latent task-quality dimensions per action.
N_TASK_LATENTS = 2
#: Scale R_SCALE of the true task reward (reward units per unit of latent quality).
TASK_REWARD_SCALE = 0.5
#: Std of each entry of the context -> task-weight coupling U (per context unit, / sqrt(C)).
REWARD_CONTEXT_COUPLING = 0.5
#: Default std sigma_phi of the additive feature noise (feature units).
DEFAULT_FEATURE_NOISE = 0.05
#: Default typical std sigma_r of the planner's task-reward estimate (reward units).
DEFAULT_REWARD_NOISE = 0.2
#: Default std sigma_h of the value-hint noise in clr (logit) units.
DEFAULT_HINT_NOISE = 0.3

#: Vocabulary for human-readable labels: what the robot does ...
ACTION_VERBS = (
    "hand the tool over",
    "fetch the part",
    "clear the workspace",
    "wait for the person",
    "hold the panel in place",
    "tidy the bench",
    "carry the box to the shelf",
    "pause and explain the next step",
)
#: ... at which pace (from the sign of the first task latent) ...
ACTION_PACES = ("slowly", "quickly")
#: ... and in which manner (from the value the fingerprint expresses most).
VALUE_MANNERS = {
    "care": "gently",
    "fairness": "taking turns",
    "loyalty": "putting the team first",
    "authority": "as instructed",
    "sanctity": "keeping things clean",
    "liberty": "letting the person decide",
}


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class CandidateSet:
    """One planner request: the candidates offered in one context.

    Visible fields are what a real planner publishes; ``true_reward`` and ``true_fingerprint``
    are hidden ground truth (for people, oracle and metrics only -- never give them to a
    learner).  All arrays are read-only float64.

    Attributes
    ----------
    request_id : str
        Unique id of this request.
    t : int
        Request index (decision time step).
    value_names : tuple of str, length M
    context : ndarray, shape (C,)
    ids : tuple of str, length B
        Unique candidate ids (unique across requests too).
    labels : tuple of str, length B
        Human-readable descriptions, e.g. ``"hand the tool over slowly, gently"``.
    features : ndarray, shape (B, F)
    reward_mean : ndarray, shape (B,)
        Planner's (noisy) estimate of the task reward.
    reward_std : ndarray, shape (B,)
        Planner's stated spread of that estimate.
    true_reward : ndarray, shape (B,)
        Hidden true task reward.
    true_fingerprint : ndarray, shape (B, M)
        Hidden true value fingerprint; each row on the simplex.
    value_hints : ndarray, shape (B, M)
        Noisy fingerprint sent by the planner; rows of NaN where no hint was sent.
    """

    request_id: str
    t: int
    value_names: Tuple[str, ...]
    context: np.ndarray
    ids: Tuple[str, ...]
    labels: Tuple[str, ...]
    features: np.ndarray
    reward_mean: np.ndarray
    reward_std: np.ndarray
    true_reward: np.ndarray
    true_fingerprint: np.ndarray
    value_hints: np.ndarray

    def __post_init__(self) -> None:
        for name in (
            "context",
            "features",
            "reward_mean",
            "reward_std",
            "true_reward",
            "true_fingerprint",
            "value_hints",
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name)))
        b = len(self.ids)
        if len(set(self.ids)) != b:
            raise ValueError(f"candidate ids must be unique, got {self.ids}")
        if len(self.labels) != b or self.features.shape[0] != b:
            raise ValueError("ids, labels and features must have the same length B")
        for name in ("reward_mean", "reward_std", "true_reward"):
            if getattr(self, name).shape != (b,):
                raise ValueError(f"{name} must have shape ({b},)")
        m = len(self.value_names)
        for name in ("true_fingerprint", "value_hints"):
            if getattr(self, name).shape != (b, m):
                raise ValueError(f"{name} must have shape ({b}, {m})")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def hint_sent(self) -> np.ndarray:
        """Boolean mask, shape (B,): which candidates carry a value hint."""
        return ~np.any(np.isnan(self.value_hints), axis=1)


class SimulatedPlanner:
    """Proposes candidate sets with hidden fingerprints and rewards (see module docstring).

    Parameters
    ----------
    value_names : sequence of str, length M
    feature_dim : int
        F, must be >= M - 1 (fingerprints are identifiable from features only then).
    context_dim : int
        C >= 0.
    n_candidates : int
        B >= 1 candidates per request.
    seed : int, SeedSequence, Generator or None
        All randomness comes from Generators derived from this seed: one for the fixed world
        (embedding and coupling matrices), one for the episode stream.
    hint_noise : float
        sigma_h, std of the hint noise in clr units (0 = exact hints).
    send_hints : bool
        Whether the planner sends value hints at all.
    hint_prob : float
        Probability that a given candidate carries a hint when ``send_hints``.
    feature_noise : float
        sigma_phi, additive feature noise std.
    reward_noise : float
        sigma_r, typical std of the planner's task-reward estimate.
    context_ar : float
        rho in [0, 1), the context's per-request autocorrelation.
    """

    def __init__(
        self,
        value_names: Sequence[str],
        feature_dim: int = 8,
        context_dim: int = 3,
        n_candidates: int = 6,
        seed: SeedLike = None,
        *,
        hint_noise: float = DEFAULT_HINT_NOISE,
        send_hints: bool = True,
        hint_prob: float = 1.0,
        feature_noise: float = DEFAULT_FEATURE_NOISE,
        reward_noise: float = DEFAULT_REWARD_NOISE,
        context_ar: float = CONTEXT_AR_COEF,
    ) -> None:
        self.value_names = tuple(str(v) for v in value_names)
        m = len(self.value_names)
        if m < 2 or len(set(self.value_names)) != m:
            raise ValueError(f"need >= 2 distinct value names, got {self.value_names}")
        if int(feature_dim) < m - 1:
            raise ValueError(
                f"feature_dim={feature_dim} < M - 1 = {m - 1}: fingerprints would not be "
                "identifiable from the features"
            )
        if int(context_dim) < 0 or int(n_candidates) < 1:
            raise ValueError("context_dim must be >= 0 and n_candidates >= 1")
        for name, val in (
            ("hint_noise", hint_noise),
            ("feature_noise", feature_noise),
            ("reward_noise", reward_noise),
        ):
            if not (np.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {val}")
        if not 0.0 <= hint_prob <= 1.0:
            raise ValueError(f"hint_prob must be in [0, 1], got {hint_prob}")
        if not 0.0 <= context_ar < 1.0:
            raise ValueError(f"context_ar must be in [0, 1), got {context_ar}")
        self.n_values = m
        self.feature_dim = int(feature_dim)
        self.context_dim = int(context_dim)
        self.n_candidates = int(n_candidates)
        self.hint_noise = float(hint_noise)
        self.send_hints = bool(send_hints)
        self.hint_prob = float(hint_prob)
        self.feature_noise = float(feature_noise)
        self.reward_noise = float(reward_noise)
        self.context_ar = float(context_ar)
        self.reset(seed)

    # ------------------------------------------------------------------ episode control
    def reset(self, seed: SeedLike = None) -> np.ndarray:
        """Start a new episode; with a seed, also redraw the fixed world matrices.

        Same seed => same world and the same sequence of candidate sets.  Without a seed the
        world is kept and the episode stream continues from the current Generator state
        (Gymnasium convention).

        Returns
        -------
        ndarray, shape (C,)
            The initial context s_0.
        """
        if seed is not None or not hasattr(self, "_episode_rng"):
            world_rng, self._episode_rng = as_generator(seed).spawn(2)
            self._draw_world(world_rng)
        self._t = 0
        self._context = self._episode_rng.standard_normal(self.context_dim)  # s_0 ~ N(0, I)
        return self._context.copy()

    def restart_episode(self, rng: np.random.Generator) -> np.ndarray:
        """Start a new candidate stream from ``rng`` in the same world; returns s_0."""
        self._episode_rng = rng
        self._t = 0
        self._context = rng.standard_normal(self.context_dim)
        return self._context.copy()

    def _draw_world(self, rng: np.random.Generator) -> None:
        m, f, c, k = self.n_values, self.feature_dim, self.context_dim, N_TASK_LATENTS
        raw = rng.standard_normal((f, m + k))
        if f >= m + k:
            q, _ = np.linalg.qr(raw)  # orthonormal columns: [A | Bz]^T [A | Bz] = I
            emb = q
        else:
            emb = raw / np.sqrt(f)
        self.embedding_values = emb[:, :m]  # A,  (F, M)
        self.embedding_task = emb[:, m : m + k]  # Bz, (F, K)
        scale_c = 1.0 / np.sqrt(max(c, 1))
        self.context_to_logits = CONTEXT_LOGIT_COUPLING * scale_c * rng.standard_normal((m, c))
        self.task_weights = rng.standard_normal(k) / np.sqrt(k)  # w, (K,)
        self.context_to_task = REWARD_CONTEXT_COUPLING * scale_c * rng.standard_normal((k, c))

    @property
    def context(self) -> np.ndarray:
        """The context s_t the next :meth:`propose` will use, shape (C,)."""
        return self._context.copy()

    # ------------------------------------------------------------------ proposals
    def propose(self, t: Optional[int] = None) -> CandidateSet:
        """Propose the candidate set for request ``t`` and advance the context by one step.

        Parameters
        ----------
        t : int, optional
            Request index used in ids; defaults to the number of earlier calls since reset.

        Returns
        -------
        CandidateSet
        """
        rng = self._episode_rng
        if t is None:
            t = self._t
        t = int(t)
        b, m, k = self.n_candidates, self.n_values, N_TASK_LATENTS
        s = self._context

        fingerprint, actions = self._draw_fingerprints(rng, s)
        # z_b ~ N(0, I_K);  r_b = R_SCALE (w + U s_t) . z_b
        latents = rng.standard_normal((b, k))
        true_reward = TASK_REWARD_SCALE * latents @ (self.task_weights + self.context_to_task @ s)
        features = self._features(fingerprint, latents, actions, rng)
        # reward_std_b = sigma_r u_b ; reward_mean_b = r_b + reward_std_b n_b
        reward_std = self.reward_noise * rng.uniform(0.5, 1.5, size=b)
        reward_mean = true_reward + reward_std * rng.standard_normal(b)
        # hint_b = softmax(clr(fp_b) + sigma_h zeta_b), NaN rows when not sent
        hint_noise = rng.standard_normal((b, m))
        sent = rng.uniform(size=b) < self.hint_prob
        hints = softmax(clr(fingerprint) + self.hint_noise * hint_noise, axis=1)
        if not self.send_hints:
            sent[:] = False
        hints[~sent] = np.nan
        verbs = rng.integers(len(ACTION_VERBS), size=b)

        ids = tuple(f"r{t:06d}-c{j}" for j in range(b))
        labels = tuple(
            self._label(int(verbs[j]), latents[j], fingerprint[j], int(actions[j]))
            for j in range(b)
        )
        cs = CandidateSet(
            request_id=f"r{t:06d}",
            t=t,
            value_names=self.value_names,
            context=s,
            ids=ids,
            labels=labels,
            features=features,
            reward_mean=reward_mean,
            reward_std=reward_std,
            true_reward=true_reward,
            true_fingerprint=fingerprint,
            value_hints=hints,
        )

        # s_{t+1} = rho s_t + sqrt(1 - rho^2) eps_t
        rho = self.context_ar
        self._context = rho * s + np.sqrt(1.0 - rho**2) * rng.standard_normal(self.context_dim)
        self._t = t + 1
        return cs

    def _draw_fingerprints(
        self, rng: np.random.Generator, s: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """True fingerprints (B, M) and an action index per candidate (unused here: -1)."""
        b, m = self.n_candidates, self.n_values
        # l_b = G s_t + sigma_fp xi_b ;  fp_b = softmax(l_b)
        logits = self.context_to_logits @ s + FINGERPRINT_LOGIT_STD * rng.standard_normal((b, m))
        return project_rows_to_simplex(softmax(logits, axis=1)), np.full(b, -1)

    def _features(
        self,
        fingerprint: np.ndarray,
        latents: np.ndarray,
        actions: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """phi_b = A clr(fp_b) + Bz z_b + sigma_phi nu_b, shape (B, F)."""
        return (
            clr(fingerprint) @ self.embedding_values.T
            + latents @ self.embedding_task.T
            + self.feature_noise * rng.standard_normal((len(fingerprint), self.feature_dim))
        )

    def _label(self, verb: int, latent: np.ndarray, fingerprint: np.ndarray, action: int) -> str:
        pace = ACTION_PACES[int(latent[0] > 0)]
        value = self.value_names[int(np.argmax(fingerprint))]
        manner = VALUE_MANNERS.get(value, f"with {value} in mind")
        return f"{ACTION_VERBS[verb]} {pace}, {manner}"

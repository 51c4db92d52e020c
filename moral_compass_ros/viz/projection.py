# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The value simplex drawn in 3-D: a fixed, documented linear projection (no ROS, numpy only).

A point θ of the simplex Δ^{M-1} (θ ≥ 0, Σ θ = 1) is a convex combination of the M vertices
e_1 … e_M. The projection is the linear map

.. math:: \\pi(\\theta) = s\\, U^T (\\theta - c), \\qquad c = \\tfrac1M \\mathbf 1,

with ``U`` an (M, 3) matrix of orthonormal, zero-sum columns (directions inside the simplex's
affine hull) and ``s`` a scale (metres per simplex unit in rviz). Because π is linear, the
projected mean is the mean of the projected particles and a covariance Σ projects exactly to
:math:`s^2 U^T \\Sigma U`. Columns of ``U`` by dimension:

* M = 2: the segment e_1–e_2 along x (``U[:, 0] = (1, -1)/√2``; y = z = 0).
* M = 3: the natural embedding, an equilateral triangle in the plane z = 0.
* M = 4: the natural embedding, a regular tetrahedron (an isometry of the 3-simplex).
* M = 5: the 4-simplex has a 4-D affine hull, so one direction must be dropped. Its centred
  vertex set is *isotropic* (covariance ∝ I − 11ᵀ/M on the hull), so every 3-D subspace is
  "principal" and the principal axes are not unique; this module fixes the choice that keeps
  every vertex and every edge visible: the **triangular bipyramid**. Values 1–3 span the
  equatorial triangle (z = 0), values 4 and 5 are the apexes (±z), and the dropped direction is
  the contrast between the mean of values 1–3 and the mean of values 4–5. Compasses that
  differ only in that contrast look alike; every other difference is shown without distortion
  (the map is an orthogonal projection, so it never stretches distances).
* M ≥ 6: the "crown": the cosine and sine of the first Fourier mode of the vertex index and the
  cosine of the second (vertex k at √(2/M)·(cos 2πk/M, sin 2πk/M, cos 4πk/M)), an orthogonal
  projection that keeps every vertex on the outer hull.
"""

from __future__ import annotations

import numpy as np


def projection_basis(dim: int) -> np.ndarray:
    """The (M, 3) matrix ``U`` of the documented projection for ``M = dim`` values.

    Parameters
    ----------
    dim : int
        Number of values M ≥ 2.

    Returns
    -------
    ndarray, shape (M, 3)
        Orthonormal columns (zero columns for unused axes when M < 4), each summing to 0.

    Raises
    ------
    ValueError
        If ``dim < 2``.
    """
    m = int(dim)
    if m < 2:
        raise ValueError(f"the value simplex needs M >= 2 values, got {dim}")
    u = np.zeros((m, 3))
    if m == 2:
        u[:, 0] = [1.0, -1.0]
    elif m == 3:
        u[:, 0] = [1.0, -1.0, 0.0]
        u[:, 1] = [1.0, 1.0, -2.0]
    elif m == 4:  # Helmert contrasts: an isometry of the regular tetrahedron
        u[:, 0] = [1.0, -1.0, 0.0, 0.0]
        u[:, 1] = [1.0, 1.0, -2.0, 0.0]
        u[:, 2] = [1.0, 1.0, 1.0, -3.0]
    elif m == 5:  # triangular bipyramid: equator = values 1-3, apexes = values 4 and 5
        u[:, 0] = [1.0, -1.0, 0.0, 0.0, 0.0]
        u[:, 1] = [1.0, 1.0, -2.0, 0.0, 0.0]
        u[:, 2] = [0.0, 0.0, 0.0, 1.0, -1.0]
    else:  # crown: first Fourier mode (cos, sin) and the cosine of the second
        angle = 2.0 * np.pi * np.arange(m) / m
        u[:, 0], u[:, 1], u[:, 2] = np.cos(angle), np.sin(angle), np.cos(2.0 * angle)
    norms = np.linalg.norm(u, axis=0)
    nonzero = norms > 0
    u[:, nonzero] /= norms[nonzero]
    return u


class SimplexProjection:
    """Projects points and covariances of the M-value simplex to 3-D (see the module docstring).

    Parameters
    ----------
    dim : int
        Number of values M ≥ 2.
    scale : float
        Length of one simplex unit in the output (metres in rviz), > 0.

    Attributes
    ----------
    basis : ndarray, shape (M, 3)
        ``U``.
    vertices : ndarray, shape (M, 3)
        The projected vertices π(e_k).
    edges : list of (int, int)
        All M(M−1)/2 vertex pairs (every pair of vertices of a simplex is an edge).
    """

    def __init__(self, dim: int, scale: float = 1.0):
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a positive finite number, got {scale}")
        self.dim = int(dim)
        self.scale = float(scale)
        self.basis = projection_basis(self.dim)
        self.centre = np.full(self.dim, 1.0 / self.dim)
        self.vertices = self.points(np.eye(self.dim))
        self.edges = [(i, j) for i in range(self.dim) for j in range(i + 1, self.dim)]

    def points(self, theta: np.ndarray) -> np.ndarray:
        """Project simplex points: π(θ) = s Uᵀ (θ − c).

        Parameters
        ----------
        theta : array_like, shape (K, M) or (M,)

        Returns
        -------
        ndarray, shape (K, 3) or (3,)
        """
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1] != self.dim:
            raise ValueError(f"points have {theta.shape[-1]} values, the simplex has {self.dim}")
        return self.scale * (theta - self.centre) @ self.basis

    def covariance(self, sigma: np.ndarray) -> np.ndarray:
        """Project a covariance: s² Uᵀ Σ U, shape (3, 3).

        Parameters
        ----------
        sigma : array_like, shape (M, M)
        """
        sigma = np.asarray(sigma, dtype=np.float64)
        if sigma.shape != (self.dim, self.dim):
            raise ValueError(
                f"covariance has shape {sigma.shape}, expected ({self.dim}, {self.dim})"
            )
        projected = self.scale**2 * self.basis.T @ sigma @ self.basis
        return 0.5 * (projected + projected.T)


def ellipsoid(
    covariance3: np.ndarray, sigmas: float = 2.0, min_diameter: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Orientation and diameters of the ``sigmas``-σ ellipsoid of a 3-D covariance.

    Eigen-decomposition Σ₃ = R diag(λ) Rᵀ (R a proper rotation); the ellipsoid
    {x : xᵀ Σ₃⁻¹ x ≤ k²} has semi-axes k √λ_i along the columns of R.

    Parameters
    ----------
    covariance3 : array_like, shape (3, 3)
        Symmetric positive semi-definite.
    sigmas : float
        k, the number of standard deviations (> 0).
    min_diameter : float
        Floor on each diameter, so a flat ellipsoid stays visible (> 0).

    Returns
    -------
    quaternion : ndarray, shape (4,)
        Orientation (x, y, z, w) of the ellipsoid's axes (rotation R).
    diameters : ndarray, shape (3,)
        2 k √λ_i, floored at ``min_diameter`` (rviz's SPHERE scale is a diameter).
    """
    cov = np.asarray(covariance3, dtype=np.float64)
    if cov.shape != (3, 3) or not np.all(np.isfinite(cov)):
        raise ValueError(f"covariance must be a finite (3, 3) matrix, got shape {cov.shape}")
    if not sigmas > 0:
        raise ValueError(f"sigmas must be > 0, got {sigmas}")
    eigenvalues, rotation = np.linalg.eigh(0.5 * (cov + cov.T))
    if np.linalg.det(rotation) < 0:
        rotation[:, 0] = -rotation[:, 0]  # a proper rotation (det +1) has a quaternion
    diameters = np.maximum(2.0 * sigmas * np.sqrt(np.clip(eigenvalues, 0.0, None)), min_diameter)
    return rotation_to_quaternion(rotation), diameters


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a 3×3 rotation matrix (Shepperd's method)."""
    r = np.asarray(rotation, dtype=np.float64)
    trace = np.trace(r)
    if trace > 0:
        s = 2.0 * np.sqrt(1.0 + trace)
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q = [s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s]
    elif r[1, 1] > r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q = [(r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q = [(r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4, (r[1, 0] - r[0, 1]) / s]
    q = np.asarray(q)
    return q / np.linalg.norm(q)


def quaternion_to_rotation(q: np.ndarray) -> np.ndarray:
    """3×3 rotation matrix of a quaternion (x, y, z, w) (normalised first)."""
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )

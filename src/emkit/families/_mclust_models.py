"""The fourteen eigen-decomposed Gaussian covariance models of mclust.

Every component covariance is written ``Sigma_k = lambda_k D_k A_k D_k'``
with volume ``lambda_k = det(Sigma_k)**(1/d)``, shape ``A_k`` (diagonal,
determinant 1, entries in decreasing order) and orientation ``D_k``
(orthogonal).  Each letter of a model name says whether volume, shape and
orientation are Equal across components, Variable, or (shape / orientation)
the Identity: ``EII``, ``VII``, ``EEI``, ``VEI``, ``EVI``, ``VVI``, ``EEE``,
``VEE``, ``EVE``, ``VVE``, ``EEV``, ``VEV``, ``EVV``, ``VVV``; in one
dimension ``E`` and ``V``.

The M-steps minimise ``sum_k n_k log det Sigma_k + tr(W_k Sigma_k^-1)``
(``W_k`` the weighted scatter matrix about the new mean) under the model's
constraints, in closed form where one exists and otherwise by the
alternating updates of Celeux & Govaert (1995).  The common orientation of
``EVE`` and ``VVE`` is updated by the majorisation-minimisation steps of
Browne & McNicholas (2014), which never increase the objective, so EM stays
monotone.  Inner iterations are warm-started from the previous covariances
and loop only over their own iterations; every step is batched over
components.

References
----------
Celeux, G. and Govaert, G. (1995). Gaussian parsimonious clustering models.
Pattern Recognition 28(5):781-793.

Browne, R. P. and McNicholas, P. D. (2014). Estimating common principal
components in high dimensions. Advances in Data Analysis and
Classification 8:217-226; and Orthogonal Stiefel manifold optimization for
eigen-decomposed covariance parameter estimation in mixture models.
Statistics and Computing 24:203-210.

Fraley, C. and Raftery, A. E. (2002). Model-based clustering, discriminant
analysis and density estimation. JASA 97:611-631 (the parameter counts).
"""

from __future__ import annotations

import numpy as np

#: the fourteen multivariate models, in mclust's order
MODEL_NAMES = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
               "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
#: the univariate models
MODELS_1D = ("E", "V")
#: scikit-learn names and the mclust model each one is
SKLEARN_ALIASES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}

_INNER_TOL = 1e-13
#: models whose M-step iterates (closed form with one component, :func:`_one_component`)
_ITERATIVE = ("VEI", "VEE", "VEV", "EVE", "VVE")
_INNER_MAX = 1000
#: first and largest over-relaxation factor of the orientation updates (see _common_orientation)
_RELAX_START = 2.0
_RELAX_MAX = 64.0
_TINY = np.finfo(np.float64).tiny


def model_for_data(name: str, n_features: int) -> str:
    """Check that a model name is defined for data with ``n_features`` columns.

    Returns the mclust name (aliases resolved).

    Raises
    ------
    ValueError
        Unknown name (listing the valid ones) or a model undefined for the
        number of features.
    """
    model = SKLEARN_ALIASES.get(name, name)
    if model not in MODEL_NAMES and model not in MODELS_1D:
        valid = tuple(SKLEARN_ALIASES) + MODEL_NAMES + MODELS_1D
        raise ValueError(f"covariance_type must be one of {', '.join(repr(v) for v in valid)}, "
                         f"got {name!r}")
    if n_features == 1 and model in MODEL_NAMES and name not in SKLEARN_ALIASES:
        raise ValueError(f"covariance_type={name!r} is not defined for one feature (it constrains "
                         "shape or orientation, which need two or more); with one feature use "
                         "'E' (equal variance) or 'V' (variable variance)")
    if n_features > 1 and model in MODELS_1D:
        raise ValueError(f"covariance_type={name!r} is a one-feature model, but the data have "
                         f"{n_features} features; use one of {', '.join(MODEL_NAMES)}")
    return model


def n_covariance_parameters(model: str, K: int, d: int) -> int:
    """Free covariance parameters of a model, as counted by mclust's ``nVarParams``."""
    rot = d * (d - 1) // 2
    counts = {
        "E": 1, "V": K,
        "EII": 1, "VII": K, "EEI": d, "VEI": K + d - 1, "EVI": 1 + K * (d - 1), "VVI": K * d,
        "EEE": d + rot, "VEE": K + d - 1 + rot, "EVE": 1 + K * (d - 1) + rot,
        "VVE": K * d + rot, "EEV": d + K * rot, "VEV": K + d - 1 + K * rot,
        "EVV": 1 + K * (d - 1 + rot), "VVV": K * (d + rot),
    }
    return int(counts[model])


# ------------------------------------------------------------------ helpers
def _geo(v: np.ndarray) -> np.ndarray:
    """Geometric mean over the last axis (``det**(1/d)`` of a diagonal)."""
    return np.exp(np.log(np.maximum(v, _TINY)).mean(axis=-1))


def _eigh_desc(S: np.ndarray):
    """Eigenvalues (decreasing) and eigenvectors of a stack of symmetric matrices."""
    val, vec = np.linalg.eigh(S)
    return val[..., ::-1], vec[..., ::-1]


def _diag(v: np.ndarray) -> np.ndarray:
    d = v.shape[-1]
    return v[..., :, None] * np.eye(d)


def _objective(W, nk, cov) -> float:
    """``sum_k n_k log det Sigma_k + tr(W_k Sigma_k^-1)``, the part of the
    expected complete-data log-likelihood (times -2) that the covariances set."""
    sign, logdet = np.linalg.slogdet(cov)
    tr = np.trace(np.linalg.solve(cov, W), axis1=1, axis2=2)
    return float(nk @ logdet + tr.sum())


def _iterate(step, state, objective):
    """Run ``state = step(state)`` until ``objective(state)`` settles.

    ``objective`` is :func:`_objective` of the state's covariances, computed
    from the model's own parametrisation (volumes, shapes and eigenvalues in
    a known basis) instead of from the ``(K, d, d)`` matrices, so an inner
    iteration costs a few small array operations.
    """
    prev = objective(state)
    for _ in range(_INNER_MAX):
        state = step(state)
        cur = objective(state)
        if abs(prev - cur) <= _INNER_TOL * max(abs(cur), 1.0):
            break
        prev = cur
    return state


# --------------------------------------------------------- orientation (MM)
def _orientation_step(D, W, B, wmax):
    """Two majorisation-minimisation updates of a common orientation.

    Minimises ``f(D) = sum_k tr(W_k D B_k D')`` over orthogonal ``D`` for
    diagonal ``B_k`` (inverse eigenvalues), Browne & McNicholas (2014):
    ``tr(W D B D')`` minus ``w tr(B)`` (``w`` the largest eigenvalue of
    ``W``) is concave in ``D``, so its tangent majorises it; the minimiser of
    the tangent is the polar factor ``U V'`` of ``sum_k (w_k I - W_k) D B_k``.
    The second update does the same with the roles of ``W_k`` and ``B_k``
    exchanged.
    """
    d = D.shape[0]
    eye = np.eye(d)
    D = _polar(np.einsum("kab,bc,kc->ac", wmax[:, None, None] * eye - W, D, B))
    bmax = B.max(axis=1)
    return _polar(np.einsum("kab,bc,kc->ac", W, D, bmax[:, None] - B))


# ------------------------------------------------------------------ M-steps
def structured_covariances(model: str, W: np.ndarray, nk: np.ndarray,
                           previous: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood covariances of a model from the scatter matrices.

    Parameters
    ----------
    model : str
        An mclust model name (aliases already resolved).
    W : ndarray of shape (n_components, n_features, n_features)
        ``W_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)'``.
    nk : ndarray of shape (n_components,)
        Summed responsibilities (positive).
    previous : ndarray of shape (n_components, n_features, n_features) or None
        Covariances of the previous iteration, to warm-start the inner
        iterations of ``VEI``, ``VEE``, ``EVE``, ``VVE`` and ``VEV``.

    Returns
    -------
    cov : ndarray of shape (n_components, n_features, n_features)
    """
    K, d, _ = W.shape
    n = nk.sum()
    eye = np.eye(d)
    Wsum = W.sum(axis=0)
    diagW = np.einsum("kii->ki", W)  # (K, d)
    if model in ("E", "EEE"):
        return np.broadcast_to(Wsum / n, (K, d, d)).copy()
    if model in ("V", "VVV"):
        return W / nk[:, None, None]
    if model == "EII":
        return np.broadcast_to(np.trace(Wsum) / (n * d) * eye, (K, d, d)).copy()
    if model == "VII":
        return (diagW.sum(axis=1) / (nk * d))[:, None, None] * eye
    if model == "EEI":
        return np.broadcast_to(np.diag(np.diag(Wsum) / n), (K, d, d)).copy()
    if model == "VVI":
        return _diag(diagW / nk[:, None])
    if model == "EVI":
        g = _geo(diagW)
        return _diag((g.sum() / n) * diagW / g[:, None])
    if model == "EVV":
        sign, logdet = np.linalg.slogdet(W)
        g = np.exp(logdet / d)
        return (g.sum() / n) * W / g[:, None, None]
    if model == "EEV":
        om, L = _eigh_desc(W)
        a = om.sum(axis=0) / n  # lambda * A
        return np.einsum("kab,b,kcb->kac", L, a, L)
    if K == 1 and model in _ITERATIVE:
        return _one_component(model, W, nk, diagW)
    if model == "VEI":
        return _vei(W, nk, diagW, previous)
    if model == "VEE":
        return _vee(W, nk, previous)
    if model == "VEV":
        return _vev(W, nk, previous)
    if model in ("EVE", "VVE"):
        return _common_orientation(model, W, nk, previous)
    raise ValueError(f"unknown covariance model {model!r}")


def _one_component(model, W, nk, diagW):
    """The iterative models' M-step with one component, in closed form.

    With ``K = 1`` equal and variable coincide: ``VEI`` is ``VVI`` (the
    scatter's diagonal over ``n``) and ``VEE``, ``VEV``, ``EVE`` and ``VVE``
    are ``VVV`` (the scatter over ``n``), the fixed points their inner
    iterations converge to (slowly, from a warm start far from them).
    Eigenvalues are floored at ``eps`` times the largest, as the iterations
    floor them, so a scatter flat in some direction still gives a regular
    covariance.
    """
    eps = np.finfo(np.float64).eps
    if model == "VEI":
        return _diag(np.maximum(diagW, diagW.max() * eps) / nk[:, None])
    om, L = _eigh_desc(W)
    om = np.maximum(om, om.max() * eps)
    return np.einsum("kab,kb,kcb->kac", L, om / nk[:, None], L)


def _vei(W, nk, diagW, previous):
    d = W.shape[1]
    B0 = np.einsum("kii->ki", previous)[0] if previous is not None else diagW.sum(axis=0)
    B0 = B0 / _geo(B0)

    def lam_of(B):
        return (diagW / B).sum(axis=1) / (d * nk)

    def step(B):
        S = (diagW / lam_of(B)[:, None]).sum(axis=0)
        return S / _geo(S)

    def objective(B):  # Sigma_k = lam_k diag(B)
        lam = lam_of(B)
        return float(nk @ (d * np.log(lam) + np.log(B).sum())
                     + ((diagW / B).sum(axis=1) / lam).sum())

    B = _iterate(step, B0, objective)
    return _diag(lam_of(B)[:, None] * B)


def _vee(W, nk, previous):
    d = W.shape[1]
    C0 = previous[0] if previous is not None else W.sum(axis=0)
    C0 = C0 / np.exp(np.linalg.slogdet(C0)[1] / d)

    def with_inverse(C):
        # the state: C, and per component tr(C^-1 W_k) and log det C
        tr = np.einsum("ab,kba->k", np.linalg.inv(C), W)
        return C, tr, np.linalg.slogdet(C)[1]

    def step(state):
        C, tr, _ = state
        S = (W / (tr / (d * nk))[:, None, None]).sum(axis=0)
        S = 0.5 * (S + S.T)
        return with_inverse(S / np.exp(np.linalg.slogdet(S)[1] / d))

    def objective(state):  # Sigma_k = lam_k C
        _, tr, logdet = state
        lam = tr / (d * nk)
        return float(nk @ (d * np.log(lam) + logdet) + (tr / lam).sum())

    C, tr, _ = _iterate(step, with_inverse(C0), objective)
    return (tr / (d * nk))[:, None, None] * C


def _vev(W, nk, previous):
    d = W.shape[1]
    om, L = _eigh_desc(W)
    # scatter matrices are positive semi-definite: eigenvalues below 0 are rounding
    om = np.maximum(om, 0.0)
    # a component with zero scatter (all its weight on one point) has volume 0 whatever
    # the shape: it takes no part in the common shape, whose update would divide 0 by 0
    live = om[:, 0] > 0.0
    if not live.any():
        return np.zeros_like(W)
    om_l, nk_l, L_l = om[live], nk[live], L[live]
    # warm start: the shape of the previous covariances (common to all of them)
    A0 = _eigh_desc(previous[live][0])[0] if previous is not None else om_l.sum(axis=0)
    A0 = _unit_shape(A0)

    def lam_of(A):
        return (om_l / A).sum(axis=1) / (d * nk_l)

    def step(A):
        return _unit_shape((om_l / lam_of(A)[:, None]).sum(axis=0))

    def objective(A):  # Sigma_k = L_k diag(lam_k A) L_k', W_k = L_k diag(om_k) L_k'
        lam = lam_of(A)
        return float(nk_l @ (d * np.log(lam) + np.log(A).sum())
                     + ((om_l / A).sum(axis=1) / lam).sum())

    A = _iterate(step, A0, objective)
    cov = np.zeros_like(W)
    cov[live] = np.einsum("kab,kb,kcb->kac", L_l, lam_of(A)[:, None] * A, L_l)
    return cov


def _unit_shape(S: np.ndarray) -> np.ndarray:
    """``S`` scaled to geometric mean 1 (a shape), its entries floored at ``eps * max(S)``.

    An entry of 0 (every component's scatter flat in that direction) has no
    shape of determinant 1; floored, the direction gets a volume at rounding
    level, which the covariance floor (``reg_covar``) then lifts, instead of
    the other entries overflowing.
    """
    S = np.maximum(S, S.max() * np.finfo(np.float64).eps)
    return S / _geo(S)


def _common_orientation(model, W, nk, previous):
    """EVE (equal volume) and VVE (variable volume): common orientation ``D``.

    Each inner step is the majorisation-minimisation update of
    :func:`_orientation_step`, adaptively over-relaxed (Salakhutdinov &
    Roweis, Adaptive overrelaxed bound optimization methods, ICML 2003): the
    step ``D -> D_MM`` is stretched by a factor that doubles while the
    stretched point (its orthogonal polar factor, with the optimal
    eigenvalues) has the lower objective and falls back to the plain update
    otherwise, so no step increases the objective and the fixed points are
    those of the plain updates (on M-steps of a 50,000-row selection, 2.4
    times fewer inner steps).
    """
    n = nk.sum()
    D0 = _eigh_desc(previous[0] if previous is not None else W.sum(axis=0))[1]
    wmax = np.linalg.eigvalsh(W)[:, -1]

    def with_eig(D):
        # the state: D, the scatter's diagonal in D's basis (diag(D' W_k D)), the
        # eigenvalues and the objective
        wt = np.einsum("ab,kac,cb->kb", D, W, D)
        w = np.maximum(wt, _TINY)
        if model == "VVE":
            eig = w / nk[:, None]
        else:
            g = _geo(w)
            eig = (g.sum() / n) * w / g[:, None]
        # a component flat in a direction (zero scatter there) gets an eigenvalue at
        # rounding level of the largest, so that its inverse in the orientation step
        # stays finite (below it, 1 / eig overflowed)
        eig = np.maximum(eig, eig.max() * np.finfo(np.float64).eps)
        # Sigma_k = D diag(eig_k) D', so tr(W_k Sigma_k^-1) = sum wt_k / eig_k
        return D, wt, eig, float(nk @ np.log(eig).sum(axis=1) + (wt / eig).sum())

    relax = [_RELAX_START]

    def step(state):
        D = state[0]
        new = with_eig(_orientation_step(D, W, 1.0 / state[2], wmax))
        # adaptive over-relaxation: the MM update stretched by relax (pulled back to
        # an orthogonal matrix), kept only where it lowers the objective further
        far = with_eig(_polar(D + relax[0] * (new[0] - D)))
        if far[3] < new[3]:
            relax[0] = min(2.0 * relax[0], _RELAX_MAX)
            return far
        relax[0] = _RELAX_START
        return new

    D, _, eig, _ = _iterate(step, with_eig(D0), lambda state: state[3])
    return np.einsum("ab,kb,cb->kac", D, eig, D)


def _polar(G: np.ndarray) -> np.ndarray:
    """The orthogonal polar factor ``U V'`` of ``G = U S V'``."""
    U, _, Vt = np.linalg.svd(G)
    return U @ Vt


def decompose(model: str, cov: np.ndarray):
    """Volume, shape and orientation of covariances.

    Parameters
    ----------
    model : str
    cov : ndarray of shape (n_components, n_features, n_features)

    Returns
    -------
    volume : ndarray of shape (n_components,)
        ``det(Sigma_k)**(1/d)``.
    shape : ndarray of shape (n_components, n_features)
        Eigenvalues divided by the volume (determinant 1): in feature order
        for the diagonal models (``..I``), else decreasing.
    orientation : ndarray of shape (n_components, n_features, n_features)
        Eigenvectors as columns (the identity for the diagonal models).
    """
    K, d, _ = cov.shape
    if model.endswith("I") or d == 1:
        val = np.einsum("kii->ki", cov)
        vec = np.broadcast_to(np.eye(d), (K, d, d)).copy()
    else:
        val, vec = _eigh_desc(cov)
    volume = _geo(val)
    return volume, val / volume[:, None], vec

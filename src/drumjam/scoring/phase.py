"""Phase-correction gains of two players by bounded generalised least squares (bGLS).

Linear phase correction (Vorberg & Wing 1996; Wing et al. 2014) says each player's next
inter-onset interval corrects a share ``alpha`` of the last asynchrony to the partner::

    t[n+1] - t[n] = T[n] - alpha * (t[n] - t_partner[n]) + M[n+1] - M[n]

with timekeeper noise ``T`` (variance sT^2) and motor noise ``M`` (variance sM^2). The motor
term makes the residuals a lag-1 moving average, which biases ordinary least squares. bGLS
(Jacoby, Keller, Repp et al. 2015, Timing & Time Perception 3:52-87) alternates a GLS fit of
``alpha`` under the residual covariance (diagonal sT^2 + 2 sM^2, off-diagonal -sM^2) with a
re-estimate of sT and sM from the residual autocovariance, bounded so that both are real and
sT >= sM (motor noise smaller than timekeeper noise, as found in tapping studies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solveh_banded

from drumjam.errors import InputError

MIN_EVENTS = 12
_RESOLUTION_S = 1e-6  # asynchronies that vary less than this carry no timing information


@dataclass(frozen=True)
class PhaseCorrection:
    """Estimated gains and noise of one player.

    Attributes
    ----------
    alpha : float
        Share of each asynchrony to the partner corrected at the next onset (0 = ignores the
        partner, 1 = fully catches up).
    alpha_se : float
        Standard error of ``alpha``.
    beta : float or None
        Share of the player's own offset from the music (the chart or grid) corrected at the
        next onset, when the music is modelled as a third, unadapting partner.
    sigma_t_ms, sigma_m_ms : float
        Timekeeper and motor noise standard deviations.
    n_events : int
        Onsets used.
    """

    alpha: float
    alpha_se: float
    beta: float | None
    sigma_t_ms: float
    sigma_m_ms: float
    n_events: int


def bgls(
    y: np.ndarray, x: np.ndarray, max_iter: int = 50, tol: float = 1e-7
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Bounded GLS regression of ``y`` on the columns of ``x`` under MA(1) noise.

    Parameters
    ----------
    y : numpy.ndarray, shape (n,)
        Responses (interval deviations), any unit.
    x : numpy.ndarray, shape (n, k)
        Regressors (asynchronies), same unit.
    max_iter : int
        Iteration limit.
    tol : float
        Convergence on the coefficients.

    Returns
    -------
    coef : numpy.ndarray, shape (k,)
        Regression coefficients (the negative of the correction gains).
    coef_cov : numpy.ndarray, shape (k, k)
        Their covariance under the estimated noise.
    sigma_t, sigma_m : float
        Timekeeper and motor noise standard deviations, in the unit of ``y``.
    """
    y = np.asarray(y, dtype=float) - np.mean(y)
    x = np.asarray(x, dtype=float)
    x = x - x.mean(axis=0)
    n = y.size
    k11, k12 = 1.0, 0.0
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    var_m = 0.0
    var_t = float(np.var(y))
    coef_cov = np.eye(x.shape[1])
    for iteration in range(max_iter):
        banded = np.zeros((2, n))
        banded[0, 1:] = k12
        banded[1, :] = k11
        ci_x = solveh_banded(banded, x)
        ci_y = solveh_banded(banded, y)
        coef_cov = np.linalg.inv(x.T @ ci_x)
        new = coef_cov @ (x.T @ ci_y)
        resid = y - x @ new
        cov = np.cov(resid[:-1], resid[1:], bias=True)
        lag0 = 0.5 * (cov[0, 0] + cov[1, 1])
        lag1 = cov[0, 1]
        # bounds: motor noise real (lag-1 autocovariance <= 0) and no larger than the
        # timekeeper noise (sT >= sM), which keeps the covariance well conditioned
        var_m = max(0.0, -lag1)
        var_t = max(lag0 - 2.0 * var_m, var_m, 1e-12)
        k11, k12 = var_t + 2.0 * var_m, -var_m
        done = iteration > 0 and np.max(np.abs(new - coef)) < tol
        coef = new
        if done:
            break
    return coef, coef_cov, float(np.sqrt(var_t)), float(np.sqrt(var_m))


def phase_correction(
    own_s: np.ndarray, partner_s: np.ndarray, target_s: np.ndarray, with_music: bool = True
) -> PhaseCorrection | None:
    """Estimate a player's correction gain towards a partner.

    Parameters
    ----------
    own_s, partner_s : numpy.ndarray
        Onset times of the player and the partner for the same sequence of targets (seconds).
    target_s : numpy.ndarray
        When those targets were due; their intervals are the intended intervals, so tempo
        changes in the music are not mistaken for corrections.
    with_music : bool
        Also model correction towards the music (the targets), as a third partner who does not
        adapt. Players of a song hear it, so without this term their common pull towards the
        music reads as correction towards each other.

    Returns
    -------
    PhaseCorrection or None
        None when the onsets say nothing about correction: the asynchrony never varies (e.g.
        two machine-perfect takes). When the partner sits exactly on the music, the two
        cannot be told apart and only the correction towards the partner is fitted.
    """
    own = np.asarray(own_s, dtype=float)
    partner = np.asarray(partner_s, dtype=float)
    target = np.asarray(target_s, dtype=float)
    if not own.size == partner.size == target.size:
        raise InputError("onset and target sequences must have the same length")
    if own.size < MIN_EVENTS:
        raise InputError(f"need at least {MIN_EVENTS} shared onsets to estimate phase correction, got {own.size}")
    async_s = own - partner
    y = np.diff(own) - np.diff(target)
    cols = [async_s[:-1]]
    if np.ptp(cols[0]) < _RESOLUTION_S:
        return None
    music = (own - target)[:-1]
    x_both = np.column_stack([cols[0], music]) - np.mean([cols[0], music], axis=1)
    with_music = with_music and np.linalg.matrix_rank(x_both, tol=_RESOLUTION_S) == 2
    if with_music:
        cols.append(music)
    try:
        coef, coef_cov, sigma_t, sigma_m = bgls(y, np.column_stack(cols))
    except np.linalg.LinAlgError:
        return None
    return PhaseCorrection(
        alpha=float(-coef[0]),
        alpha_se=float(np.sqrt(coef_cov[0, 0])),
        beta=float(-coef[1]) if with_music else None,
        sigma_t_ms=sigma_t * 1000.0,
        sigma_m_ms=sigma_m * 1000.0,
        n_events=int(own.size),
    )

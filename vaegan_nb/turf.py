"""The procedural turf war: Splatoon-like top-down frames drawn from a seed, standing in for footage.

The original trained on keyframes of 296 gameplay videos, which cannot be shipped. ``turf_frames``
draws frames with the same ingredients instead: a grey tiled floor, dark obstacles, hard-edged ink
splats of one complementary team-colour pair, and a HUD bar whose split shows each team's share.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Colour = tuple[int, int, int]

# Complementary team colours in the spirit of the game's pairs; the first of each pair is team A (left
# part of the HUD bar), the second team B.
TEAM_PAIRS: list[tuple[Colour, Colour]] = [
    ((250, 120, 20), (40, 70, 230)),  # orange / blue
    ((240, 40, 150), (60, 220, 60)),  # pink / green
    ((235, 220, 30), (120, 40, 200)),  # yellow / purple
    ((30, 210, 220), (220, 30, 40)),  # cyan / red
    ((170, 235, 30), (200, 30, 200)),  # lime / magenta
    ((20, 190, 150), (245, 160, 20)),  # turquoise / pumpkin
]
FLOOR_GREY: Colour = (126, 128, 132)
OBSTACLE_COLOUR: Colour = (50, 52, 60)
HUD_BACKGROUND: Colour = (22, 22, 26)

TEAM_JITTER = 12  # per-channel jitter of a frame's team colours: same team, slightly different paint
FLOOR_JITTER = 6  # brightness jitter of the floor
GRID_SHADE = -12  # tile grid lines, darker than the floor
CHECKER_SHADE = 4  # alternate tiles a touch lighter/darker

_MAX_OBSTACLES = 4
_MAX_SPLATS = 12
_MAX_DROPS = 4  # satellite droplets around each splat's main blob
_CHUNK = 128  # frames rasterised together: big enough for numpy, small enough to stay in cache


class _Draws(NamedTuple):
    """Uniform [0, 1) draws of a chunk of scenes, (B, k) per field.

    Every frame takes the same number of draws, so frame i depends only on (seed, i), and a short
    run's frames are a prefix of a long run's.
    """

    pair: np.ndarray  # which TEAM_PAIRS entry
    jitter: np.ndarray  # team colour jitter, 2 x RGB
    floor: np.ndarray  # floor brightness
    grid: np.ndarray  # tile scale, x phase, y phase
    n_obstacles: np.ndarray
    obstacles: np.ndarray  # centre x, y, half width, half height per obstacle
    balance: np.ndarray  # how likely a splat is team A's
    n_splats: np.ndarray
    splat_team: np.ndarray
    splat: np.ndarray  # centre x, y, radius, aspect, angle per splat
    n_drops: np.ndarray  # droplets per splat
    drops: np.ndarray  # angle, distance, radius per droplet

    @classmethod
    def split(cls, u: np.ndarray) -> _Draws:
        return cls(*np.split(u, np.cumsum(_DRAW_SIZES)[:-1], axis=1))


_DRAW_SIZES = (1, 6, 1, 3, 1, 4 * _MAX_OBSTACLES, 1, 1, _MAX_SPLATS, 5 * _MAX_SPLATS, _MAX_SPLATS,
               3 * _MAX_SPLATS * _MAX_DROPS)
_N_DRAWS = sum(_DRAW_SIZES)

_FLOOR, _TEAM_A, _TEAM_B, _OBSTACLE = 0, 1, 2, 3


def turf_palette() -> np.ndarray:
    """Every base colour of the generator as uint8 (2 * len(TEAM_PAIRS) + 3, 3).

    Rows: floor grey, obstacle, HUD background, then team A and team B of each pair in order. The
    frames hold these colours up to ``TEAM_JITTER`` / ``FLOOR_JITTER`` and the grid shading.
    """
    rows = [FLOOR_GREY, OBSTACLE_COLOUR, HUD_BACKGROUND]
    for a, b in TEAM_PAIRS:
        rows += [a, b]
    return np.array(rows, dtype=np.uint8)


def hud_height(height: int) -> int:
    """Rows taken by the HUD at the top of a frame (a dark strip with the share bar inside it)."""
    return max(3, round(0.08 * height))


def turf_frames(n: int, height: int, width: int, seed: int) -> np.ndarray:
    """``n`` procedural turf-war frames, uint8 (n, height, width, 3), the same bytes for the same args.

    Top-down arena: grey tiled floor, a few dark obstacles, hard-edged ink splats of one complementary
    team-colour pair, and a HUD bar along the top whose split shows each team's share of inked floor.
    Frame i depends only on (seed, i) (and the size): the scene is drawn in relative coordinates.
    """
    if n < 0 or height < 8 or width < 8:
        raise ValueError(f"turf_frames: need n >= 0 and a frame of at least 8x8, got n={n}, {height}x{width}")
    out = np.empty((n, height, width, 3), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        u = np.stack([_frame_draws(seed, i) for i in range(start, stop)])
        out[start:stop] = _render(u, height, width)
    return out


def _frame_draws(seed: int, index: int) -> np.ndarray:
    # One SeedSequence per frame: independent streams for every (seed, index) pair.
    ss = np.random.SeedSequence([seed & 0xFFFF_FFFF_FFFF_FFFF, index])
    return np.random.Generator(np.random.PCG64(ss)).random(_N_DRAWS, dtype=np.float32)


def _render(u: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rasterise one chunk of scenes from their uniform draws ``u`` (B, _N_DRAWS)."""
    d = _Draws.split(u)
    top = hud_height(height)
    xs = np.arange(width, dtype=np.float32) + 0.5  # pixel centres
    ys = np.arange(top, height, dtype=np.float32) + 0.5
    shade = _floor_shade(d, xs, ys, height - top, height)
    label = _ink(d, xs, ys, top, height - top, width)
    _obstacles(label, d, xs, ys, top, height - top, width)
    arena, teams = _colour(label, shade, d)
    frames = np.empty((len(u), height, width, 3), dtype=np.uint8)
    frames[:, top:] = np.clip(arena, 0, 255)
    _hud(frames, label, teams, top, width)
    return frames


def _floor_shade(d: _Draws, xs: np.ndarray, ys: np.ndarray, arena_h: int, height: int) -> np.ndarray:
    """Shading of the floor, int16 (B, H', W): a tile grid whose phase and scale move with the camera."""
    tile = arena_h / (3.5 + 2.5 * d.grid[:, 0:1])  # (B, 1) pixels per tile
    line = max(1.0, height / 48)
    gx = (xs[None, :] - d.grid[:, 1:2] * tile) % tile  # (B, W)
    gy = (ys[None, :] - d.grid[:, 2:3] * tile) % tile  # (B, H')
    on_line = (gx < line)[:, None, :] | (gy < line)[:, :, None]
    parity = ((xs[None, :] - d.grid[:, 1:2] * tile) // tile).astype(np.int16)[:, None, :] + (
        (ys[None, :] - d.grid[:, 2:3] * tile) // tile
    ).astype(np.int16)[:, :, None]
    shade = np.where(on_line, np.int16(GRID_SHADE), (parity & 1) * (2 * CHECKER_SHADE) - CHECKER_SHADE)
    return shade.astype(np.int16)


def _ink(d: _Draws, xs: np.ndarray, ys: np.ndarray, top: int, arena_h: int, width: int) -> np.ndarray:
    """Labels of the arena, uint8 (B, H', W): floor or a team's ink.

    Splats are painted in slot order, later ones over earlier ones (turf changes hands). Slot 0 is
    always team A and slot 1 team B, and they are painted last, so both teams are on the map.
    """
    b = len(d.pair)
    n_splats = 4 + np.floor(d.n_splats[:, 0] * (_MAX_SPLATS - 3)).astype(int)  # 4..12
    p_a = 0.25 + 0.5 * d.balance[:, 0:1]
    team = np.where(d.splat_team < p_a, _TEAM_A, _TEAM_B).astype(np.uint8)
    team[:, 0], team[:, 1] = _TEAM_A, _TEAM_B
    sp = d.splat.reshape(b, _MAX_SPLATS, 5)
    cx = sp[..., 0] * width
    cy = top + sp[..., 1] * arena_h
    radius = arena_h * (0.05 + 0.17 * sp[..., 2] ** 2)  # mostly small, now and then a big one
    aspect = 0.6 + 0.8 * sp[..., 3]
    angle = sp[..., 4] * np.pi
    n_drops = np.floor(d.n_drops * (_MAX_DROPS + 1)).astype(int)
    dr = d.drops.reshape(b, _MAX_SPLATS, _MAX_DROPS, 3)
    drop_angle = dr[..., 0] * 2 * np.pi
    drop_dist = radius[..., None] * (1.0 + 0.8 * dr[..., 1])
    drop_x = cx[..., None] + drop_dist * np.cos(drop_angle)
    drop_y = cy[..., None] + drop_dist * np.sin(drop_angle)
    drop_r2 = (radius[..., None] * (0.15 + 0.3 * dr[..., 2])) ** 2
    drop_r2 = np.where(np.arange(_MAX_DROPS) < n_drops[..., None], drop_r2, -1.0)  # -1: never inside

    label = np.zeros((b, arena_h, width), dtype=np.uint8)
    cos_a, sin_a = np.cos(angle), np.sin(angle)
    inv_a2 = 1.0 / (radius * np.sqrt(aspect)) ** 2
    inv_b2 = 1.0 / (radius / np.sqrt(aspect)) ** 2
    for j in range(_MAX_SPLATS - 1, -1, -1):
        dx = xs[None, :] - cx[:, j:j + 1]  # (B, W)
        dy = ys[None, :] - cy[:, j:j + 1]  # (B, H')
        # Rotated ellipse, built from separable row/column terms.
        along = (dx * cos_a[:, j:j + 1])[:, None, :] + (dy * sin_a[:, j:j + 1])[:, :, None]
        across = (dy * cos_a[:, j:j + 1])[:, :, None] - (dx * sin_a[:, j:j + 1])[:, None, :]
        along *= along
        across *= across
        along *= inv_a2[:, j, None, None]
        across *= inv_b2[:, j, None, None]
        along += across
        inside = along <= 1.0
        for k in range(_MAX_DROPS):
            ddx = xs[None, :] - drop_x[:, j, k:k + 1]
            ddy = ys[None, :] - drop_y[:, j, k:k + 1]
            r2 = (ddx * ddx)[:, None, :] + (ddy * ddy)[:, :, None]
            inside |= r2 <= drop_r2[:, j, k, None, None]
        inside &= (j < n_splats)[:, None, None]
        np.copyto(label, team[:, j, None, None], where=inside)
    return label


def _obstacles(label: np.ndarray, d: _Draws, xs: np.ndarray, ys: np.ndarray, top: int, arena_h: int,
               width: int) -> None:
    """Paint the dark obstacles into ``label``: they stand on top of the ink."""
    b = len(label)
    n_obs = 1 + np.floor(d.n_obstacles[:, 0] * _MAX_OBSTACLES).astype(int)
    ob = d.obstacles.reshape(b, _MAX_OBSTACLES, 4)
    for j in range(_MAX_OBSTACLES):
        ocx, ocy = ob[:, j, 0:1] * width, top + ob[:, j, 1:2] * arena_h
        half_w = (0.03 + 0.09 * ob[:, j, 2:3]) * width
        half_h = (0.05 + 0.13 * ob[:, j, 3:4]) * arena_h
        in_x = np.abs(xs[None, :] - ocx) <= half_w
        in_y = np.abs(ys[None, :] - ocy) <= half_h
        rect = in_y[:, :, None] & in_x[:, None, :] & (j < n_obs)[:, None, None]
        label[rect] = _OBSTACLE


def _colour(label: np.ndarray, shade: np.ndarray, d: _Draws) -> tuple[np.ndarray, np.ndarray]:
    """The arena's int16 RGB (B, H', W, 3), from one small colour table per frame looked up by label,
    and each frame's two team colours (B, 2, 3)."""
    b = len(label)
    pair = np.minimum((d.pair[:, 0] * len(TEAM_PAIRS)).astype(int), len(TEAM_PAIRS) - 1)
    pairs = np.array(TEAM_PAIRS, dtype=np.int16)[pair]  # (B, 2, 3)
    jitter = np.round((d.jitter - 0.5) * 2 * TEAM_JITTER).astype(np.int16).reshape(b, 2, 3)
    teams = np.clip(pairs + jitter, 0, 255)
    floor = np.array(FLOOR_GREY, np.int16) + np.round((d.floor - 0.5) * 2 * FLOOR_JITTER).astype(np.int16)
    table = np.empty((b, 4, 3), dtype=np.int16)
    table[:, _FLOOR] = floor
    table[:, _TEAM_A] = teams[:, 0]
    table[:, _TEAM_B] = teams[:, 1]
    table[:, _OBSTACLE] = OBSTACLE_COLOUR
    flat = label.astype(np.intp) + 4 * np.arange(b)[:, None, None]
    arena = table.reshape(-1, 3)[flat]  # (B, H', W, 3)
    arena += np.where(label == _FLOOR, shade, 0)[..., None].astype(np.int16)
    return arena, teams


def _hud(frames: np.ndarray, label: np.ndarray, teams: np.ndarray, top: int, width: int) -> None:
    """Draw the HUD into ``frames``: a dark strip with the share bar inside, split at team A's share
    of the inked floor."""
    inked_a = (label == _TEAM_A).sum(axis=(1, 2))
    inked_b = (label == _TEAM_B).sum(axis=(1, 2))
    share_a = np.where(inked_a + inked_b > 0, inked_a / np.maximum(inked_a + inked_b, 1), 0.5)
    frames[:, :top] = HUD_BACKGROUND
    bar_x0, bar_x1 = 1, width - 1
    split = bar_x0 + np.round(share_a * (bar_x1 - bar_x0)).astype(int)  # (B,)
    left = (np.arange(width)[None, :] < split[:, None])[:, None, :, None]  # (B, 1, W, 1)
    bar = np.where(left, teams[:, 0, None, None, :], teams[:, 1, None, None, :]).astype(np.uint8)
    frames[:, 1:top - 1, bar_x0:bar_x1] = bar[:, :, bar_x0:bar_x1]

"""The tokenomics simulator's model written for radCAD (PyPI), for `benches/radcad.rs`.

Reads a scenario as JSON on stdin (the Rust `Scenario`, serialised), runs `runs` radCAD runs
of its deterministic form (price drift only, no volatility, shocks or demand noise: the
Rust bench sets them so) and prints one JSON line: the wall time of the radCAD runs and the
shared metrics of the last epoch (honest hotspots, tokens minted and burned in base units).

The same model, step for step, as `tokenomics/src/model.rs` with
`hexproof_poc::rewards::compute_with_data` written out in integers below; floats in the same
order of operations, so the results agree to the last bit on the integer metrics.
"""

import json
import math
import sys
import time

from radcad import Experiment, Model, Simulation
from radcad.engine import Backend, Engine

TOKEN_BASE_UNITS = 1_000_000
SCALE_ONE = 1_000_000
COUNT_RESOLUTION = 1_000.0
SMOOTHING_DAYS = 30.0
DAYS_PER_MONTH = 30.0


def rust_round(x):
    """f64::round (half away from zero) then `as u64` (saturating at 0)."""
    if x <= 0:
        return 0
    return int(math.floor(x + 0.5))


MAX_REPORTS = 1e12
EPOCH_SECS = 86_400


def fill_counts(weights):
    """model.rs fill_counts: report counts of one pool, scaled down together past MAX_REPORTS."""
    total = 0.0
    for w in weights:
        total += w * COUNT_RESOLUTION
    k = MAX_REPORTS / total if total > MAX_REPORTS else 1.0
    return [rust_round(w * COUNT_RESOLUTION * k) for w in weights]


class MintWindow:
    """hexproof_commitment::MintWindow."""

    def __init__(self, window_secs, limit):
        self.window_secs, self.limit, self.value, self.updated_ts = window_secs, limit, 0, 0

    def copy(self):
        w = MintWindow(self.window_secs, self.limit)
        w.value, w.updated_ts = self.value, self.updated_ts
        return w

    def decayed(self, now):
        elapsed = max(now - self.updated_ts, 0)
        window = max(self.window_secs, 1)
        if elapsed >= window:
            return 0
        return self.value * (window - elapsed) // window

    def room(self, now):
        return max(self.limit - self.decayed(now), 0)

    def admit(self, amount, now):
        total = self.decayed(now) + amount
        if total > self.limit:
            return False
        self.value = total
        self.updated_ts = max(self.updated_ts, now)
        return True


def tokens_for(credits, dc_per_token):
    if dc_per_token == 0:
        return 0
    return credits * TOKEN_BASE_UNITS // dc_per_token


def pay(pool, counts, scales):
    """poc::rewards::pay: `counts` and `scales` as lists, one per key (None: unscaled)."""
    reports = sum(counts)
    if reports == 0:
        return [0] * len(counts)
    denominator = reports * SCALE_ONE
    out = []
    for c, s in zip(counts, scales):
        scale = SCALE_ONE if s is None else min(s, SCALE_ONE)
        out.append(pool * (c * scale) // denominator if c > 0 else 0)
    return out


def compute_with_data(emission, beacons, witnesses, scales, carried, charged, cfg):
    """poc::rewards::compute_with_data for keys in one fixed order; returns (paid per key,
    total paid)."""
    dc_per_token = cfg["dc_per_token"]
    remint = tokens_for(charged, dc_per_token)
    data_pool = emission * min(cfg["data_share_bps"], 10_000) // 10_000 + remint
    owed = sum(tokens_for(dc, dc_per_token) for dc in carried)
    credits = sum(carried)
    if owed <= data_pool:
        data = [tokens_for(dc, dc_per_token) for dc in carried]
    else:
        data = [data_pool * dc // max(credits, 1) for dc in carried]
    data_paid = sum(data)
    coverage = max(emission + remint - data_paid, 0)
    beacon_pool = coverage * min(cfg["beacon_share_bps"], 10_000) // 10_000
    witness_pool = coverage - beacon_pool
    b = pay(beacon_pool, beacons, scales)
    w = pay(witness_pool, witnesses, scales)
    per_key = [x + y + z for x, y, z in zip(b, w, data)]
    return per_key, sum(per_key), data_paid, remint


def gini(groups):
    valid = [(v, n) for v, n in groups if n > 0.0 and math.isfinite(v) and math.isfinite(n)]
    count = 0.0
    total = 0.0
    for v, n in valid:
        count += n
    for v, n in valid:
        total += v * n
    if count <= 0.0 or total <= 0.0:
        return 0.0
    spread = 0.0
    for vi, ni in valid:
        for vj, nj in valid:
            spread += ni * nj * abs(vi - vj)
    return spread / (2.0 * count * total)


def nakamoto(holders):
    holders = [(v, n) for v, n in holders if v > 0.0 and n > 0.0 and math.isfinite(v) and math.isfinite(n)]
    total = 0.0
    for v, n in holders:
        total += v * n
    if total <= 0.0:
        return 0.0
    holders.sort(key=lambda h: -h[0])
    half = total / 2.0
    held, count = 0.0, 0.0
    for v, n in holders:
        needed = math.floor((half - held) / v) + 1.0
        if needed <= n:
            return count + max(needed, 1.0)
        held += v * n
        count += n
    return count


def cumulative(initial, interval, epoch):
    interval = max(interval, 1)
    total, start, halvings = 0, 1, 0
    while start <= epoch and halvings < 64:
        end = min(epoch, start + interval - 1)
        total += (initial >> halvings) * (end - start + 1)
        start += interval
        halvings += 1
    return total


def make_model(s):
    tiers = s["hosts"]["tiers"]
    share_total = 0.0
    for t in tiers:
        share_total += t["share"]
    shares = [t["share"] / share_total for t in tiers]
    mean_witnesses = 0.0
    for t, sh in zip(tiers, shares):
        mean_witnesses += t["witnesses_per_day"] * sh
    token = s["token"]
    initial_per_epoch = rust_round(token["initial_emission"] * TOKEN_BASE_UNITS)
    cfg = {
        "dc_per_token": token["dc_per_token"],
        "data_share_bps": token["data_share_bps"],
        "beacon_share_bps": token["beacon_share_bps"],
    }
    hosts = s["hosts"]
    adv = s["adversary"]
    demand = s["demand"]
    price0 = s["price"]["initial_usd"]
    mu = (s["price"]["drift_per_year"] - 0.0) * (1.0 / 365.0)
    departures = sorted((d["day"], d["fraction"]) for d in hosts["departures"])

    def emission(epoch):
        halvings = (epoch - 1) // max(token["halving_epochs"], 1)
        return 0 if halvings >= 64 else initial_per_epoch >> halvings

    def p_epoch(params, substep, state_history, prev):
        epoch = prev["timestep"] + 1
        day = epoch - 1
        usd = prev["price"]
        n = list(prev["tiers"])
        for d, fraction in departures:
            if d == epoch:
                n = [x * (1.0 - fraction) for x in n]
        honest = 0.0
        for x in n:
            honest += x
        adversary_keys = honest * adv["share"] / (1.0 - adv["share"])
        unfound = adversary_keys * (1.0 - adv["detection"])
        beacons = fill_counts(list(n) + [unfound])
        witnesses = fill_counts(
            [x * t["witnesses_per_day"] for t, x in zip(tiers, n)]
            + [unfound * mean_witnesses * adv["witness_multiplier"]]
        )
        scales = [rust_round(t["scale"] * SCALE_ONE) for t in tiers]
        scales.append(None)
        # Demand (no noise: the deterministic form).
        stop = demand["stops_on_day"]
        if stop is not None and day + 1 >= stop:
            wanted_f = 0.0
        else:
            ramp = 1.0 if demand["ramp_days"] == 0 else min((day + 1) / demand["ramp_days"], 1.0)
            wanted_f = (
                demand["initial_dc_per_day"]
                * math.exp(demand["growth_per_year"] * day / 365.0)
                * 1.0
                * (price0 / usd) ** demand["price_elasticity"]
                * ramp
            )
            if not math.isfinite(wanted_f):
                wanted_f = 0.0
            wanted_f = max(wanted_f, 0.0)
        carriers = 0.0
        for t, x in zip(tiers, n):
            carriers += t["traffic"] * x
        if carriers > 0.0 and wanted_f >= 1.0:
            wanted = int(min(wanted_f, 1e18))
            def burn_for(credits):
                return min(-(-credits * TOKEN_BASE_UNITS // max(cfg["dc_per_token"], 1)), (2**64 - 1) // 4)

            supply = max(prev["minted"] - prev["burned"], 0)
            if burn_for(wanted) > supply:
                wanted = min(supply * cfg["dc_per_token"] // TOKEN_BASE_UNITS, wanted)
            burn = burn_for(wanted)
        else:
            wanted, burn = 0, 0
        carried = [0] * len(tiers)
        if wanted > 0:
            left = wanted
            last = len(tiers) - 1
            for i, (t, x) in enumerate(zip(tiers, n)):
                if i == last:
                    dc = left
                else:
                    dc = min(int(math.floor(float(wanted) * t["traffic"] * x / carriers)), left)
                left -= dc
                carried[i] = dc
        carried.append(0)
        per_key, paid, data_paid, remint = compute_with_data(
            emission(epoch), beacons, witnesses, scales, carried, wanted, cfg
        )
        per_hotspot = [
            (per_key[i] / TOKEN_BASE_UNITS) / x if x > 0.0 else 0.0 for i, x in enumerate(n)
        ]
        adversary_paid = per_key[-1] / TOKEN_BASE_UNITS
        groups = list(zip(per_hotspot, n))
        groups.append((adversary_paid / unfound if unfound > 0.0 else 0.0, unfound))
        groups.append((0.0, adversary_keys - unfound))
        honest_paid = 0.0
        for v, x in zip(per_hotspot, n):
            honest_paid += v * x
        fleet_share = hosts["fleet_share"]
        owners = [(v, x * (1.0 - fleet_share)) for v, x in zip(per_hotspot, n)]
        if fleet_share > 0.0 and hosts["fleets"] > 0:
            owners.append((honest_paid * fleet_share / hosts["fleets"], float(hosts["fleets"])))
        owners.append((adversary_paid, 1.0))
        earned = [
            v if epoch == 1 else e + (v - e) / SMOOTHING_DAYS
            for e, v in zip(prev["earned"], per_hotspot)
        ]
        monthly = [e * usd * DAYS_PER_MONTH for e in earned]
        new_monthly = 0.0
        for m, sh in zip(monthly, shares):
            new_monthly += m * sh
        net = new_monthly - hosts["opex_usd_per_month"]
        payback = hosts["hardware_usd"] / net if net > 0.0 else math.inf
        if math.isfinite(payback):
            new = hosts["max_new_per_day"] / (1.0 + (payback / hosts["target_payback_months"]) ** 2)
        else:
            new = 0.0
        tiers_next = []
        for x, m, sh in zip(n, monthly, shares):
            if hosts["opex_usd_per_month"] > 0.0:
                shortfall = min(max((hosts["opex_usd_per_month"] - m) / hosts["opex_usd_per_month"], 0.0), 1.0)
            else:
                shortfall = 0.0
            churn = (hosts["churn_per_month"] + hosts["unprofitable_churn_per_month"] * shortfall) / DAYS_PER_MONTH
            tiers_next.append(max(x * (1.0 - min(churn, 1.0)) + new * sh, 0.0))
        # Claims at the epoch's end mint what the program's mint window has room for.
        now = epoch * EPOCH_SECS
        window = prev["window"].copy()
        unclaimed = prev["unclaimed"] + paid
        claim = min(unclaimed, window.room(now))
        minted = prev["minted"]
        if window.admit(claim, now):
            minted += claim
            unclaimed -= claim
        burned = prev["burned"] + burn
        scheduled = cumulative(initial_per_epoch, token["halving_epochs"], epoch)
        cap = min(scheduled + burned, 2**64 - 1)
        paid_t = paid / TOKEN_BASE_UNITS
        row = {
            "price_usd": usd,
            "hotspots": honest,
            "adversary_keys": adversary_keys,
            "emission": emission(epoch) / TOKEN_BASE_UNITS,
            "paid": paid_t,
            "remint": remint / TOKEN_BASE_UNITS,
            "dust": (emission(epoch) + remint - paid) / TOKEN_BASE_UNITS,
            "minted": minted / TOKEN_BASE_UNITS,
            "unclaimed": unclaimed / TOKEN_BASE_UNITS,
            "scheduled": scheduled / TOKEN_BASE_UNITS,
            "burned": burned / TOKEN_BASE_UNITS,
            "supply": minted / TOKEN_BASE_UNITS - burned / TOKEN_BASE_UNITS,
            "net_emission": paid_t - burn / TOKEN_BASE_UNITS,
            "dc_burned": float(wanted),
            "tokens_burned": burn / TOKEN_BASE_UNITS,
            "reward_usd_per_hotspot_month": honest_paid / honest * usd * DAYS_PER_MONTH
            if honest > 0.0
            else 0.0,
            "payback_months": payback,
            "data_share": data_paid / paid if paid > 0 else 0.0,
            "gini": gini(groups),
            "nakamoto": nakamoto(owners),
            "adversary_take": adversary_paid / paid_t if paid_t > 0.0 else 0.0,
            "mint_headroom": cap / TOKEN_BASE_UNITS - minted / TOKEN_BASE_UNITS,
        }
        return {
            "row": row,
            "minted": minted,
            "unclaimed": unclaimed,
            "window": window,
            "tiers": tiers_next,
            "earned": earned,
            "paid": paid,
            "burn": burn,
            "price": usd * math.exp(mu),
        }

    def s_row(params, substep, sh, prev, p):
        return "row", p["row"]

    def s_tiers(params, substep, sh, prev, p):
        return "tiers", p["tiers"]

    def s_earned(params, substep, sh, prev, p):
        return "earned", p["earned"]

    def s_minted(params, substep, sh, prev, p):
        return "minted", p["minted"]

    def s_unclaimed(params, substep, sh, prev, p):
        return "unclaimed", p["unclaimed"]

    def s_window(params, substep, sh, prev, p):
        return "window", p["window"]

    def s_burned(params, substep, sh, prev, p):
        return "burned", prev["burned"] + p["burn"]

    def s_price(params, substep, sh, prev, p):
        return "price", max(min(p["price"], 1e12), 1e-12)

    initial = {
        "tiers": [hosts["initial_hotspots"] * sh for sh in shares],
        "earned": [0.0] * len(tiers),
        "minted": 0,
        "unclaimed": 0,
        "window": MintWindow(
            max(token["mint_window_epochs"], 1) * EPOCH_SECS,
            int(initial_per_epoch * token["mint_window_multiple"]),
        ),
        "burned": 0,
        "price": price0,
        "row": {},
    }
    blocks = [
        {
            "policies": {"epoch": p_epoch},
            "variables": {
                "row": s_row,
                "tiers": s_tiers,
                "earned": s_earned,
                "minted": s_minted,
                "unclaimed": s_unclaimed,
                "window": s_window,
                "burned": s_burned,
                "price": s_price,
            },
        }
    ]
    return Model(initial_state=initial, state_update_blocks=blocks, params={})


def run(s, deepcopy):
    """One radCAD experiment of `runs` runs; returns (seconds, last rows, the rows before)."""
    epochs = s["years"] * 365
    simulation = Simulation(model=make_model(s), timesteps=epochs, runs=s["runs"])
    experiment = Experiment([simulation])
    experiment.engine = Engine(
        backend=Backend.SINGLE_PROCESS, drop_substeps=True, deepcopy=deepcopy
    )
    start = time.perf_counter()
    result = experiment.run()
    seconds = time.perf_counter() - start
    last = [r for r in result if r["timestep"] == epochs]
    # The simulator's row for an epoch counts the hotspots at its start: the state after the
    # epoch before.
    before = [r for r in result if r["timestep"] == epochs - 1]
    return seconds, last, before


def main():
    s = json.load(sys.stdin)
    # radCAD's default deep-copies the state every step; this model never mutates a previous
    # state (the policy copies what it changes), so it is also run with that off: its fastest.
    seconds, last, before = run(s, deepcopy=True)
    fast_seconds, fast_last, _ = run(s, deepcopy=False)
    final = last[-1]
    assert fast_last[-1]["row"] == final["row"], "deepcopy off changed the results"
    hotspots = 0.0
    for x in before[-1]["tiers"]:
        hotspots += x
    print(
        json.dumps(
            {
                "seconds": seconds,
                "seconds_no_deepcopy": fast_seconds,
                "runs": len(last),
                "hotspots": hotspots,
                "minted": final["minted"],
                "burned": final["burned"],
                # JSON has no infinity: a payback never reached is null.
                "row": {k: (v if math.isfinite(v) else None) for k, v in final["row"].items()},
            }
        )
    )


if __name__ == "__main__":
    main()

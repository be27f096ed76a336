"""Routing benchmark: im_livechat_ext side by side with stock Odoo 18.

Builds two databases from the same seeded generator (stock ``im_livechat``
only, and ``im_livechat_ext``), times one operator selection in-process on
both, counts its SQL queries, and replays a day of arrivals through the
module, its tiers checked with the rules' own predicates over facts read
on their own. Three workloads: ``profiles`` (the default), ``spread`` and
``skewed`` (WORKLOADS).

Run it through ``./dev.sh bench [--workload spread|skewed] [--scale 1] [--visitors 1000] [--arrivals 2000]``.
"""

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
import time

import odoo_runner
import peak_hour
import peak_unanswered
from bench_data import COUNTRIES, WORKLOADS, generate, refresh_clock, visitors
from bench_day import simulate_day


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo-dir", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies operators and sessions")
    parser.add_argument("--visitors", type=int, default=1000, help="selections timed per channel")
    parser.add_argument("--arrivals", type=int, default=2000, help="arrivals of the simulated day")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument(
        "--workload",
        choices=list(WORKLOADS),
        default="profiles",
        help="profiles: 40 operator profiles shared, 1 ongoing chat per operator on average, visitors asking "
        "0-2 expertises; spread: each operator drawn on their own (6 languages, 0-2 chat languages, 0-3 of 40 "
        "expertises), 80 %% online and the rest away, 4 ongoing chats per operator, visitors asking 1-2; "
        "skewed: as spread, but few operators know the expertises visitors ask most, a third of the visitors "
        "speak a language nobody speaks, and a few operators hold most ongoing chats (many at their limit)",
    )
    parser.add_argument("--output", default="bench-results.json")
    parser.add_argument("--keep", action="store_true", help="reuse existing benchmark databases")
    parser.add_argument("--no-peak", action="store_true", help="skip the peak-hour simulation")
    parser.add_argument("--only-peak", action="store_true", help="only the peak-hour simulation")
    parser.add_argument("--peak-visitors", type=int, default=60)
    parser.add_argument("--peak-rate", type=float, default=3.0, help="arrivals per second")
    parser.add_argument("--peak-operators", type=int, default=5)
    parser.add_argument("--peak-max-sessions", type=int, default=2)
    parser.add_argument("--peak-handling", type=float, default=4.0, help="seconds a chat lasts, on average")
    return parser.parse_args()


def odoo_bin(args, db, *extra):
    odoo = odoo_runner.Odoo(args.odoo_dir, args.addons_path)
    odoo.run("-d", db, "--stop-after-init", "--log-level=warn", "--without-demo=all", "--no-http", *extra, check=True)


# ----------------------------------------------------------------------
# Measures
# ----------------------------------------------------------------------
def time_one_selection(env, channel, visitor, use_expertise):
    """(milliseconds, queries) of one operator selection, every cache emptied
    as at the start of a request."""
    env.invalidate_all()
    kwargs = {"lang": visitor["lang"], "country_id": visitor["country_id"]}
    if use_expertise:
        kwargs["expertises"] = env["im_livechat.expertise"].browse(visitor["expertises"])
    before = env.cr.sql_log_count
    start = time.perf_counter()
    channel._get_operator(**kwargs)
    return (time.perf_counter() - start) * 1000, env.cr.sql_log_count - before


def summarize(times, queries):
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "queries": int(statistics.median(queries)),
        "queries_max": max(queries),
    }


def time_selections(benches, visitor_list, seed):
    """Times every visitor's selection on every (flavour, size) of `benches`
    ({(flavour, size): (env, channel, visitor list, use_expertise)}) in turn,
    visitor after visitor, in an order shuffled each time (seeded): whatever
    this machine does meanwhile, and whatever a run leaves in the caches for
    the next one, weighs on all of them alike, as it would not if each ran
    for minutes after the other or always after the same one. Returns
    {(flavour, size): figures}."""
    runs = list(benches)
    for _env, channel, visitors_of_run, _use_expertise in benches.values():
        for warm in visitors_of_run[:20]:
            channel._get_operator(lang=warm["lang"], country_id=warm["country_id"])
    measured = {run: ([], []) for run in runs}
    order = random.Random(seed)
    for index in range(len(visitor_list)):
        for run in order.sample(runs, len(runs)):
            env, channel, visitors_of_run, use_expertise = benches[run]
            milliseconds, queries = time_one_selection(env, channel, visitors_of_run[index], use_expertise)
            measured[run][0].append(milliseconds)
            measured[run][1].append(queries)
    return {run: summarize(*measured[run]) for run in runs}


def selection_keys(result):
    """The keys bench-results.json promises, nothing more."""
    return {key: result[key] for key in ("median_ms", "p95_ms", "queries")}


def database_exists(db):
    found = subprocess.run(
        ["psql", "-d", "postgres", "-Atqc", "SELECT 1 FROM pg_database WHERE datname = %s" % f"'{db}'"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip() == "1"


def main():
    args = parse_args()
    sys.path.insert(0, args.odoo_dir)
    import odoo  # noqa: PLC0415 (Odoo comes from --odoo-dir)

    odoo.tools.config.parse_config([f"--addons-path={args.addons_path}", "--log-level=warn"])
    output = {} if args.only_peak else selection(args, odoo)
    if not args.no_peak:

        def build_db(db, module):
            odoo_runner.drop_db(db, check=True)
            print(f"building {db} ({module}, no demo data)...", flush=True)
            odoo_bin(args, db, "-i", module)

        peak = peak_hour.run(odoo, build_db, args)
        peak_hour.print_table(peak, args)
        output["peak"] = peak
        line = peak["ext_line"]
        print(
            f"with the line: turned away while an operator was present {line['turned_away_while_present']} "
            f"(target 0), best-tier share {line['best_tier_share']} (target 1.0), "
            f"estimate median error {line['estimate_error_p50']} (target <= 0.3)"
        )
        unanswered = peak_unanswered.run(odoo, build_db, args)
        peak_unanswered.print_table(unanswered, args)
        output["unanswered"] = unanswered
    with open(args.output, "w") as handle:
        json.dump(output, handle, indent=2)
    print(f"written {args.output}")


def selection(args, odoo):
    """The selection benchmark and the simulated day; returns the figures."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    suffix = "" if args.workload == "profiles" else f"_{args.workload}"
    dbs = {"stock": (f"bench_stock{suffix}", "im_livechat"), "ext": (f"bench_ext{suffix}", "im_livechat_ext")}
    for db, module in dbs.values():
        if not args.keep or not database_exists(db):
            odoo_runner.drop_db(db, check=True)
            print(f"building {db} ({module}, no demo data)...", flush=True)
            odoo_bin(args, db, "-i", module)
        else:
            print(f"updating {module} in {db}...", flush=True)
            odoo_bin(args, db, "-u", module)
    results = {"stock": {}, "ext": {}}
    meta = {}
    with contextlib.ExitStack() as stack:
        benches = {}
        envs = {}
        for flavour, (db, _module) in dbs.items():
            registry = odoo.modules.registry.Registry(db)
            cr = stack.enter_context(registry.cursor())
            env = envs[flavour] = api.Environment(cr, SUPERUSER_ID, {})
            if args.keep and env["im_livechat.channel"].search_count([("name", "like", "Bench %")]):
                channels = env["im_livechat.channel"].search([("name", "like", "Bench %")], order="id")
                sizes = [len(c.user_ids) for c in channels]
                expertise_ids = env["im_livechat.expertise"].search([]).ids if flavour == "ext" else []
            else:
                print(f"generating data in {db}...", flush=True)
                channels, sizes, expertise_ids = generate(env, args, flavour == "ext")
                cr.commit()
            countries = {c: env.ref(f"base.{c}").id for c in COUNTRIES}
            visitor_list = visitors(args, list(range(1, 41)) if flavour == "stock" else expertise_ids, countries)
            for channel, size in zip(channels, sizes, strict=True):
                # alone, as in a request: no other channel in its prefetch set
                channel = env["im_livechat.channel"].browse(channel.id)
                benches[(flavour, size)] = (env, channel, visitor_list, flavour == "ext")
            if flavour == "ext":
                cr.execute("SELECT count(*) FROM discuss_channel WHERE channel_type = 'livechat'")
                meta = {"operators": max(sizes), "sessions": cr.fetchone()[0], "expertises": len(expertise_ids)}
                ext_day = (channels[len(channels) // 2], expertise_ids, countries)
        print(
            f"timing {len(visitor_list)} selections at {', '.join(map(str, sizes))} operators, "
            "stock and module in turn...",
            flush=True,
        )
        for env in envs.values():
            # the sessions' ages and the operators' last presence as generated,
            # whatever the time building and updating the databases took
            refresh_clock(env)
        for (flavour, size), figures in time_selections(benches, visitor_list, args.seed).items():
            results[flavour][size] = figures
        print("simulating a day of arrivals...", flush=True)
        refresh_clock(envs["ext"])
        middle, expertise_ids, countries = ext_day
        quality = simulate_day(envs["ext"], middle, args, expertise_ids, countries)
        for env in envs.values():
            env.cr.rollback()
    reference = sorted(results["ext"])[len(results["ext"]) // 2]
    output = {
        **meta,
        "selection": {flavour: selection_keys(results[flavour][reference]) for flavour in ("ext", "stock")},
        "scaling": [
            {
                "operators": size,
                "ext_median_ms": results["ext"][size]["median_ms"],
                "ext_queries": results["ext"][size]["queries"],
                "stock_median_ms": results["stock"][size]["median_ms"],
                "stock_queries": results["stock"][size]["queries"],
            }
            for size in sorted(results["ext"])
        ],
        "quality": quality,
    }
    print()
    print(
        f"{'operators':>10} | {'ext median':>10} | {'ext p95':>8} | {'ext q':>5} | "
        f"{'stock median':>12} | {'stock p95':>9} | {'stock q':>7} | speed-up"
    )
    for size in sorted(results["ext"]):
        ext, stock = results["ext"][size], results["stock"][size]
        print(
            f"{size:>10} | {ext['median_ms']:>8} ms | {ext['p95_ms']:>5} ms | {ext['queries']:>5} | "
            f"{stock['median_ms']:>9} ms | {stock['p95_ms']:>6} ms | {stock['queries']:>7} | "
            f"{stock['median_ms'] / ext['median_ms']:.1f}x"
        )
    smallest, largest = min(results["ext"]), max(results["ext"])
    ext_small, ext_large = results["ext"][smallest], results["ext"][largest]
    growth = ext_large["median_ms"] / ext_small["median_ms"]
    speed_up = results["stock"][largest]["median_ms"] / ext_large["median_ms"]
    print(
        f"\ngrowth {smallest} -> {largest} operators: module {growth:.2f}x (target <= 2), stock "
        f"{results['stock'][largest]['median_ms'] / results['stock'][smallest]['median_ms']:.2f}x; "
        f"speed-up at {largest}: {speed_up:.1f}x (target >= 10); module p95/median at {largest}: "
        f"{ext_large['p95_ms'] / ext_large['median_ms']:.2f} (target <= 2)"
    )
    print(
        f"simulated day at {reference} operators (operators in a call blocked): {quality['arrivals']} routed "
        f"arrivals, best-tier share {quality['best_tier_share']}, order inside the tier kept "
        f"{quality['in_tier_order_share']}, load spread among equivalent operators {quality['load_spread']}"
    )
    output["growth"] = round(growth, 2)
    output["speed_up"] = round(speed_up, 1)
    return output


if __name__ == "__main__":
    main()

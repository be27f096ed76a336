"""The stress test's figures (./dev.sh stress): medians, bootstrap
intervals and the module/stock ratios, printed."""

import random
import statistics

FLAVOURS = (
    ("stock", "im_livechat", False),
    ("ext_unlimited", "im_livechat_ext", False),
    ("ext_limited", "im_livechat_ext", True),
    ("ext_line", "im_livechat_ext", "line"),
)
MODULE_FLAVOURS = {"ext_unlimited": "unlimited", "ext_limited": "limited", "ext_line": "limited with a waiting line"}


def median(values):
    return statistics.median(values) if values else float("nan")


def bootstrap_interval(values, seed, draws=2000):
    """A 95 % interval of the median of `values` (resampled with replacement)."""
    draw = random.Random(seed)
    medians = sorted(statistics.median(draw.choices(values, k=len(values))) for _ in range(draws))
    return medians[int(draws * 0.025)], medians[int(draws * 0.975) - 1]


def print_table(title, rounds):
    print(title)
    print(
        f"{'run':>14} | {'req/s':>6} | {'p95 s':>6} | {'retries':>7} | {'5xx':>3} | {'sessions':>8} | "
        f"{'no operator':>11} | max/operator"
    )
    for flavour, runs in rounds.items():
        print(
            f"{flavour:>14} | {median([r['req_s'] for r in runs]):>6.1f} | "
            f"{median([r['p95_s'] for r in runs]):>6.2f} | "
            f"{sum(r['retries'] for r in runs):>7} | {sum(r['http_5xx'] for r in runs):>3} | "
            f"{median([r['sessions'] for r in runs]):>8g} | {sum(r['no_operator'] for r in runs):>11} | "
            f"{max(r['max_per_operator'] for r in runs)}"
        )


def print_ratios(args, rounds, what, interval=False):
    """Each module flavour's burst over stock's of the same round; with
    `interval`, the 95 % interval of the median ratio (many rounds only)."""
    print(f"module / stock, {what} (max {args.max_sessions} sessions per operator):")
    for flavour, label in MODULE_FLAVOURS.items():
        speed = [ext["req_s"] / stock["req_s"] for ext, stock in zip(rounds[flavour], rounds["stock"], strict=True)]
        p95 = [ext["p95_s"] / stock["p95_s"] for ext, stock in zip(rounds[flavour], rounds["stock"], strict=True)]
        spread = ""
        if interval:
            low, high = bootstrap_interval(speed, args.seed)
            spread = f"95 % interval {low:.2f}-{high:.2f}; "
        print(
            f"  {label}: req/s {median(speed):.2f}x ({spread}rounds: {', '.join(f'{r:.2f}' for r in speed)}), "
            f"p95 {median(p95):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in p95)})"
        )

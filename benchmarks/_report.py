"""Rendering of a benchmark run: the Markdown table and the PNG chart of ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SERVER_TITLES = {
    "fixed": "Fixed-response server (pure client cost)",
    "emulator": "Emulator (separate process)",
    "tls": "Fixed-response server over TLS (loopback, throwaway CA)",
}
TARGET_SERVERS = ("fixed", "emulator")  # the TLS rows have no targets
CLIENT_ORDER = ("async", "sync", "official-sync", "official-async")
CLIENT_COLOURS = {
    "async": "#1f77b4",
    "sync": "#ff7f0e",
    "official-sync": "#8c8c8c",
    "official-async": "#c7c7c7",
}
CLIENT_NAMES = {
    "async": "AsyncRecallrAI",
    "sync": "RecallrAI (sync)",
    "official-sync": "official sync",
    "official-async": "official async",
}


def _num(value: float, digits: int = 1) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _cell(row: dict[str, Any], figure: str, digits: int = 1) -> str:
    median = row["median"] or {}
    if figure not in median:
        return ""
    text = _num(median[figure], digits)
    ratio = row["ratio_to_raw"].get(figure)
    return f"{text} ({ratio:.2f}x)" if ratio is not None else text


def _limit(target: dict[str, Any]) -> str:
    if target["kind"] == "cpu_ratio":
        return f"≤ {target['limit']:.2f}x"
    if target["kind"] == "rss_growth_mb":
        return f"< {target['limit']:.0f} MB"
    if target["kind"] == "import_next":
        return f"≤ 60 ms, ≤ {target['limit']:.1f}x official"
    return "≤ official"


def _measured(target: dict[str, Any], server: str) -> str:
    value = target["measured"].get(server)
    if value is None:
        return "-"
    if target["kind"] != "cpu_ratio":
        return f"{value:.1f} MB"
    low, high = target.get("spread", {}).get(server, (value, value))
    return f"{value:.2f}x" if low == high else f"{value:.2f}x ({low:.2f} to {high:.2f})"


def markdown(doc: dict[str, Any], chart_note: str) -> str:
    settings, machine = doc["settings"], doc["machine"]
    servers = [s for s in settings["servers"] if s in TARGET_SERVERS]
    official = doc["official"]
    out: list[str] = ["# recallrai client benchmarks", ""]
    load = f"{machine['load_average_start'][0]} → {machine.get('load_average_end', ['?'])[0]}"
    out += [
        f"Generated {doc['generated_at']} in {doc['duration_s']:.0f} s; "
        f"median of {settings['repetitions']} repetition(s); commit `{machine['git_commit'] or '?'}`.",
        "",
        f"Machine: {machine['cpu_model']}; {machine['cpu_count']} CPUs ({machine['usable_cpus']} usable)"
        f"; {machine['memory_gb']} GB; {machine['python']}; {machine['os']}; "
        f"1-min load average {load}; CPU placement: {settings.get('placement', 'unpinned')}.",
        "",
        f"Versions: recallrai {machine['recallrai']} (this repo), aiohttp {machine['aiohttp']}; "
        + (
            f"official `{official['spec']}` in `{official['venv']}/`."
            if official["available"]
            else f"official package unavailable: {official['reason']}."
        ),
        "",
    ]
    if settings["quick"]:
        out += [
            "> **Quick mode**: tiny counts and one repetition, to check the harness. "
            "The figures below mean nothing; PASS/MISS only shows the wiring.",
            "",
        ]

    out += ["## Targets", ""]
    header = "| Target | Limit | " + " | ".join(SERVER_TITLES[s].split(" (")[0] for s in servers)
    out += [header + " | Result |", "|---" * (3 + len(servers)) + "|"]
    for target in doc["targets"]:
        if target["kind"] in ("import", "import_next"):
            m = target["measured"]
            if "official_ms" in m:
                cells = f"{m['ours_ms']:.0f} ms vs {m['official_ms']:.0f} ms official ({m['ratio']:.2f}x)"
            elif "ours_ms" in m:
                cells = f"{m['ours_ms']:.0f} ms; {target['note']}"
            else:
                cells = target["note"] or "-"
            cols = [cells] + ["" for _ in servers[1:]] if servers else []
        else:
            cols = [_measured(target, s) for s in servers]
        verdict = target["verdict"]
        verdict = f"**{verdict}**" if verdict in ("PASS", "MISS") else verdict
        out.append(
            f"| {target['title']} | {_limit(target)} | " + " | ".join(cols) + f" | {verdict} |"
        )
    out += [
        "",
        "Verdicts are taken on the fixed-response server, where the client's own cost is "
        "isolated; the emulator columns are for context. A CPU ratio compares client-process "
        "CPU time per request with raw aiohttp's for the same workload in the same repetition "
        f"(the clients of a workload take turns, each measuring {settings.get('batches', 1)} "
        "batch(es), in an order reversed every round and rotated between repetitions); the "
        "figure is the median of those per-repetition ratios, with their range in brackets. "
        "The tables below show each client's median over repetitions, and their ratios.",
        "",
    ]

    workloads = {w["key"]: w for w in doc["workloads"]}
    counts = settings["counts"]
    for server in servers:
        out += [f"## {SERVER_TITLES[server]}", ""]
        out += [
            "| Workload | Client | CPU µs/op | Wall s | Requests/s | Peak RSS MB | RSS growth MB |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for row in doc["rows"]:
            if row["server"] != server or workloads[row["workload"]].get("section"):
                continue
            w = workloads[row["workload"]]
            what = f"{w['key']} ({counts[w['key']]:,} {w['unit']}s)"
            if row["median"] is None:
                out.append(f"| {what} | {row['label']} | {row['error'] or 'no data'} | | | | |")
                continue
            note = f" ⚠ {row['error']}" if row["error"] else ""
            out.append(
                f"| {what} | {row['label']}{note} | {_cell(row, 'cpu_us_per_op')} | "
                f"{_cell(row, 'wall_s', 3)} | {_cell(row, 'requests_per_s', 0)} | "
                f"{_cell(row, 'peak_rss_mb')} | {_cell(row, 'rss_growth_mb')} |"
            )
        out.append("")
    out += [
        "op = one request (get, create) or one listed user (list, iterate; 100 users a page). "
        "CPU = getrusage user+sys of the client process only, around the workload (all its "
        "threads). Peak RSS = the client process's high-water mark; RSS growth = peak RSS "
        "during the iteration minus RSS before it. `(nx)` = ratio to raw aiohttp in this run.",
        "",
    ]

    if "tls" in settings["servers"]:
        out += _tls_section(doc)
    if doc.get("memory", {}).get("rows"):
        out += _memory_section(doc)
    if doc.get("latency", {}).get("rows"):
        out += _latency_section(doc)

    imports = doc["imports"]
    if imports:
        out += [
            "## Import time (fresh process each, median)",
            "",
            "| Package | `import recallrai` ms | `+ from recallrai import RecallrAI, AsyncRecallrAI` ms | runs |",
            "|---|---:|---:|---:|",
        ]
        for name, figures in imports.items():
            if "error" in figures:
                out.append(f"| {name} | {figures['error']} | | |")
            else:
                out.append(
                    f"| {name} | {figures['import_ms']:.1f} | {figures['import_clients_ms']:.1f} "
                    f"| {figures['runs']} |"
                )
        out.append("")

    pending = [w for w in doc["workloads"] if w["pending"]]
    if pending:
        out += ["## Pending workloads", ""]
        out += [f"- `{w['key']}` ({w['title']}): {w['pending']}" for w in pending]
        out.append("")
    out += [
        f"Chart: {chart_note}"
        if chart_note
        else "Chart: `latest.png` (CPU ratios to raw aiohttp).",
        "",
    ]
    return "\n".join(out)


def _ratio(value: float | None) -> str:
    return f" ({value:.2f}x)" if value is not None else ""


def _tls_section(doc: dict[str, Any]) -> list[str]:
    tls = doc["tls"]
    out = [f"## {SERVER_TITLES['tls']}", ""]
    if tls["reason"]:  # the whole server could not run (trustme missing)
        return [*out, f"Unavailable: {tls['reason']}.", ""]
    out += [
        "| Workload | Client | CPU µs/op (x raw over TLS) | x same client, plain HTTP "
        "| Requests/s | TLS handshakes / connections (max needed) | Requests per handshake |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    counts = doc["settings"]["counts"]
    for row in tls["rows"]:
        what = f"{row['workload']} ({counts[row['workload']]:,} requests)"
        if row["cpu_us_per_op"] is None:
            out.append(f"| {what} | {row['label']} | {row['error'] or 'no data'} | | | | |")
            continue
        note = f" ⚠ {row['error']}" if row["error"] else ""
        plain = row["cpu_ratio_to_plain_http"]
        handshakes = row["handshakes"]
        shake = f"{handshakes:g} / {row['connections']:g} ({row['max_connections_needed']:g})"
        if row["resumed"]:
            shake += f", {row['resumed']:g} resumed"
        per = f"{row['server_requests'] / handshakes:,.0f}" if handshakes else "-"
        out.append(
            f"| {what} | {row['label']}{note} | {_num(row['cpu_us_per_op'])}"
            f"{_ratio(row['cpu_ratio_to_raw'])} | {f'{plain:.2f}x' if plain else '-'} | "
            f"{_num(row['requests_per_s'], 0)} | {shake} | {per} |"
        )
    trust = {row["label"].split(",")[0]: row["trusts_the_ca_by"] for row in tls["rows"]}
    versions = sorted({row["tls_version"] for row in tls["rows"] if row.get("tls_version")})
    out += [
        "",
        f"{' and '.join(versions) or 'TLS'} (Python's default settings on both sides) over "
        f"loopback; the CA is {tls['ca']}. Each client trusts it its own way: "
        + "; ".join(f"{label}: `{how}`" for label, how in trust.items())
        + ". Handshakes are counted "
        + tls["handshakes_counted"]
        + ". They include the warm-up's connections; at most one per request in flight "
        "(max needed) however many requests, so the pool reuses its connections. "
        "Requests per handshake counts every request the server saw from the process.",
        "",
    ]
    return out


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _memory_section(doc: dict[str, Any]) -> list[str]:
    memory = doc["memory"]
    out = [
        f"## Memory: an idle client, and {memory['users_held']:,} users held (fixed server)",
        "",
        "| Client | RSS after import MB | RSS, idle client MB | Idle client over baseline MB "
        "(x raw) | … of which import MB | … of which client MB | Users held: kB per 1,000 "
        "(x raw) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in memory["rows"]:
        if row["rss_idle_mb"] is None:
            out.append(f"| {row['label']} | {row['error'] or 'no data'} | | | | | |")
            continue
        per = row["kb_per_1000_users"]
        out.append(
            f"| {row['label']} | {_mb(row['rss_imported_mb'])} | {_mb(row['rss_idle_mb'])} | "
            f"{_mb(row['idle_client_mb'])}{_ratio(row['idle_client_ratio_to_raw'])} | "
            f"{_mb(row['import_mb'])} | {_mb(row['client_mb'])} | "
            f"{per:,.0f}{_ratio(row['kb_per_1000_users_ratio_to_raw'])} |"
        )
    baselines = ", ".join(
        f"{name} {value:.1f} MB" if isinstance(value, float) else f"{name}: {value}"
        for name, value in memory["baseline_rss_mb"].items()
    )
    out += [
        "",
        f"Measured as: {memory['method']}. Baseline RSS: {baselines or 'not measured'}. "
        "Raw aiohttp holds each user as its decoded JSON dict (the floor).",
        "",
    ]
    return out


def _latency_section(doc: dict[str, Any]) -> list[str]:
    latency = doc["latency"]
    out = [
        "## Latency: time to the first streamed context event (fixed server)",
        "",
        "| Client | First event, median ms (x raw) | p90 ms | min ms | Whole stream, median ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in latency["rows"]:
        if row["first_event_ms"] is None:
            out.append(f"| {row['label']} | {row['error'] or 'no data'} | | | |")
            continue
        out.append(
            f"| {row['label']} | {row['first_event_ms']:.3f}"
            f"{_ratio(row['first_event_ratio_to_raw'])} | {row['first_event_p90_ms']:.3f} | "
            f"{row['first_event_min_ms']:.3f} | {row['stream_ms']:.3f} |"
        )
    out += [
        "",
        f"{latency['streams']:,} streams a run (3 progress events, then the final one); "
        f"{latency['method']}.",
        "",
    ]
    return out


def write_chart(doc: dict[str, Any], path: Path) -> str:
    """Draw the CPU-ratio bar chart; return "" on success, else why it was skipped."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, NullLocator
    except ImportError:
        return "skipped (matplotlib is not installed; `nox -s bench` installs it)"

    servers = doc["settings"]["servers"]
    workloads = [w["key"] for w in doc["workloads"] if not w["pending"] and not w.get("section")]
    limits = {
        (t["workload"], t["client"]): t["limit"] for t in doc["targets"] if t["kind"] == "cpu_ratio"
    }
    fig, axes = plt.subplots(
        len(servers), 1, figsize=(11, 3.6 * len(servers)), squeeze=False, constrained_layout=True
    )
    width = 0.8 / len(CLIENT_ORDER)
    for ax, server in zip(axes[:, 0], servers, strict=True):
        present = [
            w
            for w in workloads
            if any(r["server"] == server and r["workload"] == w for r in doc["rows"])
        ]
        for index, client in enumerate(CLIENT_ORDER):
            xs, heights = [], []
            for x, workload in enumerate(present):
                row = next(
                    (
                        r
                        for r in doc["rows"]
                        if (r["server"], r["workload"], r["client"]) == (server, workload, client)
                    ),
                    None,
                )
                ratio = row["ratio_to_raw"].get("cpu_us_per_op") if row else None
                if ratio is not None:
                    xs.append(x + (index - (len(CLIENT_ORDER) - 1) / 2) * width)
                    heights.append(ratio)
                limit = limits.get((workload, client))
                if limit is not None and server == "fixed":
                    centre = x + (index - (len(CLIENT_ORDER) - 1) / 2) * width
                    ax.hlines(
                        limit,
                        centre - width / 2,
                        centre + width / 2,
                        colors="crimson",
                        linewidth=2.5,
                    )
            bars = ax.bar(
                xs, heights, width, label=CLIENT_NAMES[client], color=CLIENT_COLOURS[client]
            )
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_yscale("log", base=2)
        ticks = [0.5, 1, 1.25, 1.6, 2, 2.5, 4, 8, 16, 32, 64, 128]
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(lambda value, _: f"{value:g}x")
        ax.set_ylim(0.5, max([4.0, *(b.get_height() * 1.6 for b in ax.patches)]))
        ax.set_xticks(range(len(present)), present)
        ax.set_ylabel("client CPU per op / raw aiohttp (log)")
        marks = ": crimson marks = targets" if server == "fixed" else " (no targets)"
        ax.set_title(f"{SERVER_TITLES[server]}{marks}")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(CLIENT_ORDER), fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ""

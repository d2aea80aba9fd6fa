"""A small chart for the report (SVG, no plotting library): tickets per day as bars and the
bot's answer rate per day as a line, so editors see at a glance when the bot falls short."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 640, 260, 40


def svg_chart(days: list[tuple[str, int, float | None]], title: str = "Tickets and answer rate per day") -> str:
    """days: (YYYY-MM-DD, tickets opened, share of typed questions the bot answered or None)."""
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    most = max([n for _, n, _ in days] + [1])
    step = inner_w / max(len(days), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif"'
             f' font-size="11">', f'<title>{escape(title)}</title>',
             f'<text x="{PAD}" y="18" font-size="13">{escape(title)}</text>',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>',
             f'<text x="4" y="{PAD + 4}" fill="#4a7bd0">{most}</text>',
             f'<text x="{WIDTH - PAD + 4}" y="{PAD + 4}" fill="#d0704a">100%</text>',
             f'<text x="{WIDTH - PAD + 4}" y="{HEIGHT - PAD}" fill="#d0704a">0%</text>']
    points = []
    for i, (day, tickets, rate) in enumerate(days):
        x = PAD + i * step
        h = inner_h * tickets / most
        parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{step * 0.7:.1f}"'
                     f' height="{h:.1f}" fill="#4a7bd0"><title>{escape(day)}: {tickets}</title></rect>')
        if len(days) <= 14 or i % max(1, len(days) // 7) == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle">'
                         f'{escape(day[5:])}</text>')
        if rate is not None:
            points.append(f"{x + step / 2:.1f},{HEIGHT - PAD - inner_h * rate:.1f}")
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#d0704a" stroke-width="2"/>')
        parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" fill="#d0704a"/>' for p in points]
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 6}" fill="#4a7bd0">■ tickets opened</text>')
    parts.append(f'<text x="{PAD + 130}" y="{HEIGHT - 6}" fill="#d0704a">● questions the bot answered</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

"""Horizontal SVG bar charts for the bench artifacts (no plotting library needed)."""

from html import escape


def bar_chart(title: str, rows: list[tuple[str, float, float | None, str]]) -> str:
    """rows: (label, value drawn dark, optional larger value drawn light behind it, text after the bar)."""
    width, bar_h, gap, label_w = 840, 22, 10, 240
    top = max(max(value, back or 0) for _, value, back, _ in rows) or 1
    scale = (width - label_w - 280) / top
    parts = []
    for i, (label, value, back, text) in enumerate(rows):
        y = 30 + i * (bar_h + gap)
        end = max(value, back or 0) * scale
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        if back is not None:
            parts.append(f'<rect x="{label_w}" y="{y}" width="{back * scale:.1f}" height="{bar_h}" fill="#9ec5fe"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{value * scale:.1f}" height="{bar_h}" fill="#0d6efd"/>')
        parts.append(f'<text x="{label_w + end + 6:.1f}" y="{y + 15}">{escape(text)}</text>')
    height = 40 + len(rows) * (bar_h + gap)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="13"><text x="10" y="18" font-weight="bold">{escape(title)}</text>' + "".join(parts) + "</svg>"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"

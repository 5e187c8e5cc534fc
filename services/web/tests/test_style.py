"""The stylesheet's focus ring: at least 3:1 against the page and the cards (WCAG 2.2,
non-text contrast), whatever colour it is given."""

import re
from pathlib import Path

STYLE = Path(__file__).resolve().parents[1] / "src/bookshelf/static/style.css"


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_focus_ring_has_3_to_1_contrast_on_paper_and_cards() -> None:
    css = STYLE.read_text()
    variables = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})\b", css))
    rule = re.search(r"a:focus-visible[^{]*\{([^}]*)\}", css)
    assert rule is not None
    colour = re.search(r"outline:\s*\d+px solid (#[0-9a-fA-F]{6}|var\(--([a-z-]+)\))", rule[1])
    assert colour is not None
    ring = variables[colour[2]] if colour[2] else colour[1]
    for background in (variables["paper"], variables["card"]):
        assert contrast(ring, background) >= 3, (ring, background)
    assert contrast("#f0a35e", "#ffffff") < 3  # the old ring, which this test would refuse

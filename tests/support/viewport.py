"""Is an element where a person can see it? Inside the visible viewport, and on top.

`assert_in_view(page, "#request-error")` fails, naming what is wrong, when the element (a
Playwright selector or locator) is hidden, reaches outside the viewport (below the fold, say),
or is covered at its centre or half-way up or down (a fixed tab bar, a toast, another card):
there `document.elementFromPoint` must return the element or one of its descendants.
Any page test can use it (LIFF at 360×740, clinic pages, the kiosk screen).
"""

from __future__ import annotations

from typing import Any

# Checked in the page: the box against the viewport, then what is topmost at three points on
# the element's vertical centre line (centre, a quarter from the top, a quarter from the bottom).
_PROBE = """
element => {
  const box = element.getBoundingClientRect();
  const width = window.innerWidth, height = window.innerHeight;
  const describe = node => {
    if (!node) { return 'nothing'; }
    let text = node.tagName.toLowerCase();
    if (node.id) { text += '#' + node.id; }
    if (node.classList && node.classList.length) { text += '.' + [...node.classList].join('.'); }
    return text;
  };
  const problems = [];
  if (box.width <= 0 || box.height <= 0) { problems.push('it has no size'); }
  if (box.top < 0) { problems.push(`its top is ${Math.round(-box.top)} px above the viewport`); }
  if (box.left < 0) { problems.push(`it starts ${Math.round(-box.left)} px left of the viewport`); }
  if (box.bottom > height) {
    const below = Math.round(box.bottom - height);
    problems.push(`its bottom is ${below} px below the viewport (${height} px high)`);
  }
  if (box.right > width) {
    problems.push(`it ends ${Math.round(box.right - width)} px right of the viewport`);
  }
  if (!problems.length) {
    const x = box.left + box.width / 2;
    for (const [name, y] of [['centre', box.top + box.height / 2],
                             ['upper quarter', box.top + box.height / 4],
                             ['lower quarter', box.top + box.height * 3 / 4]]) {
      const hit = document.elementFromPoint(x, y);
      if (!hit || !(hit === element || element.contains(hit))) {
        const at = `(${Math.round(x)}, ${Math.round(y)})`;
        problems.push(`at its ${name} ${at} ${describe(hit)} covers it`);
      }
    }
  }
  return { element: describe(element), problems: problems };
}
"""


def in_view_problems(page: Any, target: Any) -> list[str]:
    """Why the element is not fully visible and uncovered (an empty list when it is)."""
    locator = page.locator(target) if isinstance(target, str) else target
    locator.wait_for(state="visible")
    result = locator.evaluate(_PROBE)
    return [f"{result['element']}: {problem}" for problem in result["problems"]]


def assert_in_view(page: Any, target: Any) -> None:
    """Assert the element is inside the viewport and not covered (elementFromPoint at its
    centre, and a quarter from its top and bottom, returns it or a descendant)."""
    problems = in_view_problems(page, target)
    assert not problems, "; ".join(problems)

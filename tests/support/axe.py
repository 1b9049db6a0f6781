"""axe-core's accessibility rules run on a page in the browser (`make browser` installs axe-core from npm into var/)."""

from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
# WCAG 2.1 A and AA, and axe's best practices (landmarks, headings, labels in their region).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

_RUN = """
const [context, options, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
axe.run(context || document, options).then(
  (result) => done(result.violations),
  (error) => done({error: String(error)}),
);
"""


def violations(page: Any, impacts: tuple[str, ...] = SERIOUS, context: str | None = None) -> list[dict[str, Any]]:
    """The rules a page breaks at the given impacts (serious and critical by default), each with its nodes.

    `page` is a Playwright page or a Selenium WebDriver. axe-core is loaded into the page from the file `make
    browser` installed, as the page's own script would be, so a test needs no network; `context` is a CSS selector
    to check only part of the page.
    """
    if not AXE_SCRIPT.exists():
        raise FileNotFoundError(f"{AXE_SCRIPT} is missing: `make browser` installs axe-core")
    source = AXE_SCRIPT.read_text()
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    if hasattr(page, "evaluate"):  # Playwright
        page.evaluate(source)
        found = page.evaluate(
            "([context, options]) => axe.run(context || document, options).then((result) => result.violations)",
            [context, options],
        )
    else:  # Selenium
        page.execute_script(source)
        page.set_script_timeout(60)
        found = page.execute_async_script(_RUN, context, options)
        if isinstance(found, dict) and "error" in found:
            raise RuntimeError(f"axe-core failed: {found['error']}")
    return [violation for violation in found if violation.get("impact") in impacts]


def summary(found: list[dict[str, Any]]) -> str:
    """The violations as lines a failing assertion can show: rule, impact, and the first elements it names."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — " + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        for v in found
    )

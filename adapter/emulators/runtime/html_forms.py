"""The forms of a loaded page, read as a browser would submit them, for the emulator's headless windows.

Pure: HTML text in, the page title and its forms out (each form's action, method, the values its successful
controls send unchanged, its submit buttons). Tests submit a form through the emulator-only action
``emulator-submit-form``, which picks the form and the button with ``pick_form`` and ``clicked``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from adapter.emulators.runtime.errors import ActionRefusedError


@dataclass
class HtmlForm:
    """A form of a loaded page: where it submits and the values a browser would send unchanged."""

    action: str
    method: str
    fields: dict[str, str]
    id: str | None = None
    name: str | None = None
    buttons: list[SubmitButton] = field(default_factory=list)


@dataclass(frozen=True)
class SubmitButton:
    """A submit control: clicking it adds ``name=value`` to the submission (when it has a name)."""

    name: str | None
    value: str
    id: str | None

    def matches(self, selector: str) -> bool:
        """True when ``selector`` is this button's id, value or name."""
        return selector in (self.id, self.value, self.name)


class _FormParser(HTMLParser):
    """Collects forms, their successful controls' default values, and the page title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self.title = ""
        self._in_title = False
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self.forms.append(
                HtmlForm(
                    action=values.get("action", ""),
                    method=values.get("method", "get").upper(),
                    fields={},
                    id=values.get("id"),
                    name=values.get("name"),
                )
            )
        elif tag in ("button", "input") and self.forms and _is_submit(tag, values):
            self.forms[-1].buttons.append(
                SubmitButton(values.get("name"), values.get("value", ""), values.get("id"))
            )
        elif tag == "option" and self._select is not None and self.forms:
            value = values.get("value", "")
            if self._select_first is None:
                self._select_first = value
                self.forms[-1].fields.setdefault(self._select, value)
            if "selected" in values:
                self.forms[-1].fields[self._select] = value
        elif not self.forms or "name" not in values or "disabled" in values:
            return
        elif tag == "input":
            kind = values.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in values:
                return
            self.forms[-1].fields[values["name"]] = values.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select, self._select_first = values["name"], None
        elif tag == "textarea":
            self._textarea = values["name"]
            self.forms[-1].fields[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._textarea is not None and self.forms:
            self.forms[-1].fields[self._textarea] += data


def _is_submit(tag: str, values: dict[str, str]) -> bool:
    kind = values.get("type", "submit" if tag == "button" else "text").lower()
    return kind in ("submit", "image")


def parse_page(html: str) -> tuple[str, list[HtmlForm]]:
    """The title and forms of an HTML page."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.title.strip(), parser.forms


def clicked(form: HtmlForm, selector: Any) -> dict[str, str]:
    """What clicking the submit button ``selector`` (id, value or name; None: no button) adds to the form."""
    if selector is None:
        return {}
    for button in form.buttons:
        if button.matches(str(selector)):
            return {button.name: button.value} if button.name else {}
    raise ActionRefusedError(f"The form has no submit button {selector!r}")


def pick_form(forms: list[HtmlForm], selector: Any) -> HtmlForm:
    """The form ``selector`` names (index, id or name; None: the first)."""
    if not forms:
        raise ActionRefusedError("The window's page has no form")
    if selector is None:
        return forms[0]
    if isinstance(selector, int) and not isinstance(selector, bool):
        if 0 <= selector < len(forms):
            return forms[selector]
    else:
        for form in forms:
            if selector in (form.id, form.name):
                return form
    raise ActionRefusedError(f"The window's page has no form {selector!r}")

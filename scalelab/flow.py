"""The animated flow view: an anywidget that replays a run's requests, one dot each, from the
clients through the balancer to an instance's queue and service slots and back.

Its JavaScript and CSS ship in ``scalelab/static`` (no CDN: it works offline). What it
replays comes from :func:`scalelab.flowdata.flow_payload`; the per-request arrays travel as
binary buffers. Times in seconds.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from . import _validate
from .flowdata import flow_payload
from .plots.style import WONG
from .result import Result

STATIC = Path(__file__).parent / "static"
SPEEDS = (0.05, 10.0)  # slowest and fastest playback, × real time
_BINARY = {"arrival": "<f8", "start": "<f8", "end": "<f8", "instance": "<i4", "status": "i1",
           "retries": "i1", "lost": "u1", "user": "<i4"}


class FlowView(anywidget.AnyWidget):
    """The view; build it with ``sl.widgets.flow(result)``. ``payload`` is what it replays
    (``flowdata.flow_payload``'s dict), ``speed`` the playback speed (× real time),
    ``autoplay`` whether it starts playing when shown (never with reduced motion)."""

    _esm = STATIC / "flow.js"
    _css = STATIC / "flow.css"
    payload = traitlets.Dict().tag(sync=True)
    speed = traitlets.Float(1.0).tag(sync=True)
    autoplay = traitlets.Bool(True).tag(sync=True)

    def __init__(self, result: Result, start: float | None = None, end: float | None = None,
                 speed: float = 1.0, autoplay: bool = True, store: bool | None = None):
        speed = _validate.number("speed", speed, minimum=SPEEDS[0], maximum=SPEEDS[1])
        data = flow_payload(result, start, end, store=store)
        super().__init__(payload=_wire(data), speed=speed, autoplay=bool(autoplay))
        self.data = data

    @property
    def summary(self) -> str:
        """What the window shows, in one paragraph (the view's text for screen readers)."""
        return self.data["summary"]

    def __repr__(self) -> str:
        return f"FlowView({self.summary})"

    def to_html(self, autoplay: bool = False) -> str:
        """A self-contained HTML page that shows this view without Jupyter (to save a replay
        for slides, time its frames or take a still): the same JavaScript, a stand-in for the
        widget model and the same payload."""
        state = {"payload": {}, "speed": self.speed, "autoplay": bool(autoplay)}
        buffers = {}
        for key, value in self.payload.items():
            if isinstance(value, memoryview):
                buffers[key] = base64.b64encode(value.tobytes()).decode()
            else:
                state["payload"][key] = value
        return _PAGE.format(title=html.escape(self.summary[:80]),
                            css=(STATIC / "flow.css").read_text(), state=_script(state),
                            buffers=_script(buffers), js=_script((STATIC / "flow.js").read_text()))


# A page that loads flow.js as a module and hands it a model with get/set/on/save_changes.
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{css}</style></head><body style="margin:12px;background:#fff"><div id="out"></div>
<script type="module">
const state = {state};
for (const [key, b64] of Object.entries({buffers})) {{
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  state.payload[key] = new DataView(bytes.buffer);
}}
const model = {{
  get: (key) => state[key], set: (key, value) => {{ state[key] = value; }},
  save_changes() {{}}, on() {{}},
}};
const url = URL.createObjectURL(new Blob([{js}], {{type: "text/javascript"}}));
const view = await import(url);
view.default.render({{model, el: document.getElementById("out")}});
window.flowReady = true;
</script></body></html>"""


def _script(value) -> str:
    """``value`` as JSON that is safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/")


def _wire(data: dict) -> dict:
    """``data`` ready to sync: the per-request arrays as little-endian binary buffers, the
    rest as JSON."""
    wire = {key: value for key, value in data.items() if key not in _BINARY and key != "index"}
    wire["palette"] = WONG  # the course's colour-blind-safe palette
    for key, dtype in _BINARY.items():
        wire[key] = memoryview(np.ascontiguousarray(data[key], dtype=dtype)).cast("B")
    return wire

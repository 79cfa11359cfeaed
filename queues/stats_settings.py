"""The statistics consumer's settings from the instance: wrap-up times, metric labels, the call
figures' alert settings (checked first).  A broken map never stops the statistics: it is logged."""

from __future__ import annotations

import logging

from hotline.log import event as log_event
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError
from queues.config import queue_specs
from queues.stats_calls import CallFigures
from queues.stats_metrics import label_values

log = logging.getLogger("hotline.queues")


def queue_wrapups(settings) -> dict[str, float]:
    """Wrap-up seconds per queue, from the same specs the renderer writes."""
    try:
        return {q["name"]: float(q.get("wrapuptime", 0)) for q in queue_specs(load_map_for(settings), settings)}
    except (ConfigError, ValueError) as exc:  # a broken map must not stop the statistics
        log_event(log, "cannot read queue wrap-up times; assuming 0", logging.ERROR, error=str(exc)[:500])
        return {}


def metric_labels(settings) -> tuple[frozenset[str], frozenset[str]]:
    """The lines and queues the metrics label by (a broken map: none, every line is `other`)."""
    try:
        tmap = load_map_for(settings)
        return label_values(tmap, (q["name"] for q in queue_specs(tmap, settings)))
    except (ConfigError, ValueError) as exc:
        log_event(log, "cannot read the map for the metrics' labels", logging.ERROR, error=str(exc)[:500])
        return frozenset(), frozenset()


def alert_settings_problem(settings) -> str | None:
    """What is wrong with the alert settings (None: nothing)."""
    if not settings.stats_alert_window > 0 or settings.stats_alert_window > 24 * 60:
        return f"HOTLINE_STATS_ALERT_WINDOW={settings.stats_alert_window}: minutes, more than 0 and at most 1440"
    if settings.stats_alert_min_calls < 1:
        return f"HOTLINE_STATS_ALERT_MIN_CALLS={settings.stats_alert_min_calls}: at least 1"
    hook = settings.stats_alert_webhook
    if hook and not hook.startswith(("http://", "https://")):
        return f"HOTLINE_STATS_ALERT_WEBHOOK={hook!r}: an http:// or https:// URL, or empty for none"
    return None


def figures_factory(settings):
    """The call figures' settings: the map's trunks (name -> kind), the alert window; checked first."""
    problem = alert_settings_problem(settings)
    if problem:
        raise ValueError(problem)
    try:
        trunks = {name: t.kind for name, t in load_map_for(settings).trunks.items()}
    except (ConfigError, ValueError) as exc:  # a broken map must not stop the statistics
        log_event(
            log, "cannot read the map's trunks: trunk answers count as 'other'", logging.ERROR, error=str(exc)[:500]
        )
        trunks = {}

    def make() -> CallFigures:
        return CallFigures(
            trunks=trunks, window=settings.stats_alert_window * 60, min_calls=settings.stats_alert_min_calls
        )

    return make

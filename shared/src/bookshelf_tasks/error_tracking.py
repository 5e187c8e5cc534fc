"""Optional error tracking: Sentry, when `SENTRY_DSN` is set; nothing at all otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sentry_sdk
from sentry_sdk.integrations import Integration


def init_sentry(
    environ: Mapping[str, str | None], integrations: Sequence[Integration], component: str
) -> bool:
    """Start the Sentry client when SENTRY_DSN is set; True if it did.

    No performance tracing (traces_sample_rate 0) and no personal data: errors only,
    tagged with the component (web, worker, outbox-relay) that raised them.
    """
    dsn = (environ.get("SENTRY_DSN") or "").strip()
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=(environ.get("SENTRY_ENVIRONMENT") or "").strip() or "production",
        integrations=list(integrations),
        traces_sample_rate=0.0,
        send_default_pii=False,
    )
    sentry_sdk.get_global_scope().set_tag("component", component)
    return True

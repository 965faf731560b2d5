"""Every route of the Mastodon API and OAuth, in one list for web.app. Modules with fixed paths
under /api/v1/accounts/ (search, follows) come before accounts' `{id}` routes."""
from __future__ import annotations

from web.api import (accounts, follows, instance, media, misc, notifications, oauth, search, statuses, streaming,
                     timelines)

routes = (oauth.routes + instance.routes + search.routes + follows.routes + accounts.routes + statuses.routes
          + timelines.routes + notifications.routes + media.routes + streaming.routes + misc.routes)

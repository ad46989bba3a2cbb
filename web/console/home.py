"""/console: the operator's home — who they are, what they cover, where they can go."""
from __future__ import annotations

from bot.services import current as services
from models.staff import LEVEL_NAMES
from web.console import bp, operator, render, scope
from web.console.scope import estates_in


@bp.get("/")
def home() -> tuple[str, int]:
    """The operator, their scope, and the areas their level may open."""
    with services().sessions() as db:
        estates = [e.name for e in estates_in(db, scope())]
    me = operator()
    return render("console/home.html", level=LEVEL_NAMES[me.level], estates=estates,
                  buildings=me.buildings if me.level == "grid" else "",
                  staff_name=me.staff.name if me.staff else None)

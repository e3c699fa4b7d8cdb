"""`flask orders overdue`: waiting orders that are late or about to be."""

import click

from portal.i18n import format_stockholm_datetime
from portal.models.orders import PROMISE_HOURS
from portal.orders.overdue import NEARLY_OVERDUE_HOURS, late_orders


@click.group("orders")
def orders():
    """SMS orders."""


@orders.command("overdue")
def overdue():
    """List waiting orders older than 20 h; exit 1 when any is older than 24 h."""
    late = late_orders()
    if not late:
        click.echo(f"Inga beställningar har väntat längre än {NEARLY_OVERDUE_HOURS} timmar.")
        return
    for item in late:
        order = item.order
        state = (
            f"FÖRSENAD {item.hours_late} h"
            if item.overdue
            else f"snart försenad, {item.hours_left} h kvar"
        )
        click.echo(
            f"{order.number}  {order.org_name} ({order.org_number})  "
            f"mottagen {format_stockholm_datetime(order.created_at)}  "
            f"väntat {item.age_hours} h  {state}"
        )
    overdue_count = sum(item.overdue for item in late)
    click.echo(
        f"Försenade (över {PROMISE_HOURS} h): {overdue_count}. "
        f"Snart försenade (över {NEARLY_OVERDUE_HOURS} h): {len(late) - overdue_count}."
    )
    if overdue_count:
        click.get_current_context().exit(1)

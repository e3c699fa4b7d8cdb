"""Recipients: what a sender picked, what they may pick, and who that reaches per channel.

Used by compose (#6: the picker, the confirmation's counts) and sending (#7: the frozen
recipient list). See `selection` for the wire format, `permissions` for the reach rules,
`eligibility` for the reasons people are left out, `privacy` for protected identities.
"""

from portal.recipients.eligibility import (
    REASON_LABELS,
    REASONS,
    ChannelRecipients,
    ChannelSummary,
    LeftOut,
    Reason,
    Resolution,
    Snapshot,
    Summary,
    Target,
    freeze,
    resolve,
    snapshot,
    summarise,
)
from portal.recipients.permissions import (
    PickableGroup,
    PickableSchool,
    Reach,
    SelectionOutOfReach,
    check_reach,
    may_send,
    reachable,
)
from portal.recipients.privacy import display_mobile, display_name
from portal.recipients.selection import (
    GROUP_ROLE_LABELS,
    SCOPE_ROLE_LABELS,
    GroupRole,
    InvalidSelection,
    ScopeRole,
    Selection,
    parse_selection,
)

__all__ = [
    "GROUP_ROLE_LABELS",
    "REASONS",
    "REASON_LABELS",
    "SCOPE_ROLE_LABELS",
    "ChannelRecipients",
    "ChannelSummary",
    "GroupRole",
    "InvalidSelection",
    "LeftOut",
    "PickableGroup",
    "PickableSchool",
    "Reach",
    "Reason",
    "Resolution",
    "ScopeRole",
    "Selection",
    "SelectionOutOfReach",
    "Snapshot",
    "Summary",
    "Target",
    "check_reach",
    "display_mobile",
    "display_name",
    "freeze",
    "may_send",
    "parse_selection",
    "reachable",
    "resolve",
    "snapshot",
    "summarise",
]

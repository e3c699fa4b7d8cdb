"""Directory import: read a CSV or SS 12000 file, plan the changes to an organisation's
directory, and apply them in one transaction.

People are matched by (organisation, external_id); an account made before the first
import (no external_id) is taken over when the file has its e-mail address. Schools and
groups are created as needed. In a full import, imported people missing from the file
are deactivated, never deleted. Memberships, duties and guardianships of the imported
people are made to match the file. A value the file leaves empty (e-mail, mobile) keeps
what the portal has, and an acceptance of the terms is never taken away.
"""

import time
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam

from portal.database import write_transaction
from portal.directory import csv_format, ss12000
from portal.directory.current import PERSON_COLUMNS, email_holders, load, people
from portal.directory.records import Issue
from portal.directory.values import shown
from portal.extensions import db
from portal.models import Group, Role, School, duties, group_memberships, guardianships
from portal.models.audit import record
from portal.models.base import utcnow

UPDATED_FIELDS = PERSON_COLUMNS[1:]  # a PersonRow without its id


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    """What an import did, or in a dry run would do. Never holds names or numbers."""

    kind: str
    dry_run: bool
    full: bool
    rows: int = 0
    protected: int = 0
    people: Counts = field(default_factory=Counts)
    schools: Counts = field(default_factory=Counts)
    groups: Counts = field(default_factory=Counts)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    file_error: str | None = None
    seconds: float = 0.0

    @property
    def line_label(self):
        return _("Rad") if self.kind == "csv" else _("Person")

    def counts(self):
        return {name: asdict(getattr(self, name)) for name in ("people", "schools", "groups")}


@dataclass
class _Plan:
    new_schools: list = field(default_factory=list)  # SchoolRecord
    school_updates: list = field(default_factory=list)  # {id, name, external_id}
    new_groups: list = field(default_factory=list)  # (GroupRecord, school ref)
    group_updates: list = field(default_factory=list)  # ({id, name, external_id}, school ref)
    inserts: list = field(default_factory=list)  # people rows
    updates: list = field(default_factory=list)
    email_moves: list = field(default_factory=list)  # ids whose e-mail changes
    deactivate: list = field(default_factory=list)
    links: list = field(default_factory=list)  # (person ref, group refs, school refs, children)


def import_directory(
    source: bytes | str | PathLike, organisation, *, dry_run: bool, full: bool = True, actor=None
) -> ImportReport:
    """Import `source` (the file's bytes, or a path) into `organisation`'s directory.

    A dry run plans and reports without changing anything; a real run applies every
    valid row in one transaction and reports the rest. `full`: people imported before
    and missing from this file are deactivated.
    """
    started = time.perf_counter()
    content = source if isinstance(source, bytes) else Path(source).read_bytes()
    directory = parse(content)
    report = ImportReport(
        kind=directory.kind,
        dry_run=dry_run,
        full=full,
        errors=list(directory.errors),
        warnings=list(directory.warnings),
        file_error=directory.file_error,
    )
    if directory.file_error is None:
        if dry_run:
            try:
                _plan(directory, organisation, full, actor, report)
            finally:
                db.session.rollback()
        else:
            with write_transaction():
                plan = _plan(directory, organisation, full, actor, report)
                _apply(plan, organisation.id)
                _audit(report, organisation, actor)
    report.errors.sort(key=lambda issue: (issue.line is not None, issue.line or 0))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def parse(content: bytes):
    """The file as a Directory: SS 12000 JSON when it starts with `{`, else CSV."""
    start = content.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    reader = ss12000 if start in (b"{", b"[") else csv_format
    return reader.parse(content, utcnow())


def _plan(directory, organisation, full, actor, report):
    current = load(organisation.id)
    matched = {
        person.external_id: current.by_external_id.get(person.external_id)
        or (current.unlinked_by_email.get(person.email) if person.email else None)
        for person in directory.people
    }
    valid = _dedupe_emails(directory.people, report)
    while True:  # a refused row can take a student or a released address with it
        kept = _check_children(valid, directory, current, full, report)
        kept = _check_clashes(kept, matched, report)
        if len(kept) == len(valid):
            break
        valid = kept
    report.rows = len(valid) + len({issue.line for issue in report.errors} - {None})
    report.protected = sum(person.protected_identity for person in valid)

    plan = _Plan()
    school_refs = _plan_schools(directory, valid, current, plan, report)
    group_refs = _plan_groups(directory, valid, current, school_refs, plan, report)

    def person_ref(external_id):
        row = matched.get(external_id) or current.by_external_id.get(external_id)
        return row.id if row is not None else f"ext:{external_id}"

    now = utcnow()
    for person in valid:
        row = matched[person.external_id]
        links = (
            {group_refs[key] for key in person.groups},
            {school_refs[key] for key in person.schools},
            {person_ref(child) for child in person.guardian_of},
        )
        values = _person_values(person, row)
        if row is None:
            plan.inserts.append({**values, "organisation_id": organisation.id, "created_at": now})
            plan.links.append((f"ext:{person.external_id}", *links))
            report.people.created += 1
            continue
        plan.links.append((row.id, *links))
        changed = row[1:] != tuple(values[name] for name in UPDATED_FIELDS)
        if changed:
            plan.updates.append({"b_id": row.id, **{f"b_{k}": v for k, v in values.items()}})
            if values["email"] != row.email:
                plan.email_moves.append(row.id)
        linked = (
            current.memberships.get(row.id, set()),
            current.duties.get(row.id, set()),
            current.children.get(row.id, set()),
        )
        if changed or links != linked:
            report.people.updated += 1
        else:
            report.people.unchanged += 1
    if full:
        actor_id = actor.id if actor is not None else None
        plan.deactivate = [
            row.id
            for external_id, row in current.by_external_id.items()
            if row.active and external_id not in directory.seen_ids and row.id != actor_id
        ]
        report.people.deactivated = len(plan.deactivate)
    plan.current = current
    return plan


def _person_values(person, row):
    """The person's columns after the import: the file's, keeping what it leaves empty."""
    keep = row is not None
    mobile, rejected = person.mobile, person.mobile_rejected
    if keep and not (mobile or rejected):
        mobile, rejected = row.mobile, row.mobile_rejected
    return {
        "external_id": person.external_id,
        "role": person.role,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "email": person.email or (row.email if keep else None),
        "mobile": mobile,
        "mobile_rejected": rejected,
        "terms_accepted_at": (keep and row.terms_accepted_at) or person.terms_accepted_at,
        "protected_identity": person.protected_identity,
        "active": True,
    }


def _dedupe_emails(records, report):
    """Records whose e-mail address no earlier row of the file has."""
    first_line, valid = {}, []
    for person in records:
        if person.email and person.email in first_line:
            report.errors.append(
                Issue(
                    person.line,
                    _(
                        "E-postadressen %(email)s finns redan på rad %(line)d.",
                        email=shown(person.email, person.protected_identity),
                        line=first_line[person.email],
                    ),
                )
            )
            continue
        if person.email:
            first_line[person.email] = person.line
        valid.append(person)
    return valid


def _check_clashes(records, matched, report):
    """Records whose new e-mail address no other person has (in any organisation),
    unless that person is in `records` and takes another address."""
    new_emails = {}
    released = set()
    for person in records:
        row = matched[person.external_id]
        if person.email and (row is None or row.email != person.email):
            new_emails[person.email] = person
            if row is not None and row.email:
                released.add(row.email)
    refused = set()
    for email, holder_id in email_holders(new_emails).items():
        person = new_emails[email]
        own = matched[person.external_id]
        if (own is None or own.id != holder_id) and email not in released:
            refused.add(person.external_id)
            report.errors.append(
                Issue(
                    person.line,
                    _(
                        "E-postadressen %(email)s används redan av en annan person.",
                        email=shown(email, person.protected_identity),
                    ),
                )
            )
    return [person for person in records if person.external_id not in refused]


def _check_children(records, directory, current, full, report):
    """Records whose guardian_of names students this import keeps (or, partial, has)."""
    valid_ids = {person.external_id: person for person in records}
    refused = set()
    for person in records:
        for child in person.guardian_of:
            problem = _child_problem(child, valid_ids, directory, current, full)
            if problem:
                report.errors.append(Issue(person.line, problem))
                refused.add(person.external_id)
    return [person for person in records if person.external_id not in refused]


def _child_problem(child, valid_ids, directory, current, full):
    if child in valid_ids:
        if valid_ids[child].role == Role.STUDENT:
            return None
        return _("guardian_of: '%(id)s' är inte en elev.", id=child)
    if child in directory.seen_ids:
        return _("guardian_of: eleven '%(id)s' har fel i filen och importeras inte.", id=child)
    existing = current.by_external_id.get(child)
    if not full and existing is not None and existing.role == Role.STUDENT:
        return None
    return _("guardian_of: eleven '%(id)s' finns inte i filen.", id=child)


def _plan_schools(directory, valid, current, plan, report):
    """School key → existing school id, or the key itself for a school to create."""
    keys = set(directory.listed_schools)
    keys.update(key for person in valid for key in person.schools)
    group_keys = directory.listed_groups | {key for person in valid for key in person.groups}
    keys.update(directory.groups[key].school_key for key in group_keys)
    refs = {}
    for key in sorted(keys):
        school = directory.schools[key]
        by_id = current.schools_by_external_id.get(school.external_id)
        existing = by_id or current.schools_by_name.get(school.name.casefold())
        if existing is None:
            refs[key] = key
            plan.new_schools.append(school)
            report.schools.created += 1
            continue
        refs[key] = existing.id
        holder = current.schools_by_name.get(school.name.casefold())
        change = _renaming(existing, school, by_id, holder)
        if change:
            plan.school_updates.append({"id": existing.id, **change})
            report.schools.updated += 1
        else:
            report.schools.unchanged += 1
    return refs


def _plan_groups(directory, valid, current, school_refs, plan, report):
    """Group key → existing group id, or the key itself for a group to create."""
    keys = directory.listed_groups | {key for person in valid for key in person.groups}
    refs = {}
    for key in sorted(keys):
        group = directory.groups[key]
        school_ref = school_refs[group.school_key]
        by_id = current.groups_by_external_id.get(group.external_id)
        existing = by_id or (
            current.groups_by_name.get((school_ref, group.name.casefold()))
            if isinstance(school_ref, int)
            else None
        )
        if existing is None:
            refs[key] = key
            plan.new_groups.append((group, school_ref))
            report.groups.created += 1
            continue
        refs[key] = existing.id
        holder = current.groups_by_name.get((school_ref, group.name.casefold()))
        change = _renaming(existing, group, by_id, holder)
        if existing.school_id != school_ref:
            change["school_id"] = school_ref
        if change:
            plan.group_updates.append(({"id": existing.id, **change}, school_ref))
            report.groups.updated += 1
        else:
            report.groups.unchanged += 1
    return refs


def _renaming(existing, wanted, matched_by_id, holder):
    """The name and external_id changes that make `existing` match the file; `holder` is
    whoever has the wanted name now (a rename never takes another's name)."""
    change = {}
    if wanted.external_id and existing.external_id != wanted.external_id:
        change["external_id"] = wanted.external_id
    if matched_by_id and existing.name != wanted.name and holder in (None, existing):
        change["name"] = wanted.name
    return change


def _apply(plan, organisation_id):
    session = db.session
    school_ids = {}
    for school in plan.new_schools:
        school_ids[school.key] = _add(
            School(
                organisation_id=organisation_id, name=school.name, external_id=school.external_id
            )
        )
    for change in plan.school_updates:
        session.execute(db.update(School), [change])
    group_ids = {}
    for group, school_ref in plan.new_groups:
        group_ids[group.key] = _add(
            Group(
                organisation_id=organisation_id,
                school_id=school_ids.get(school_ref, school_ref),
                name=group.name,
                external_id=group.external_id,
            )
        )
    for change, school_ref in plan.group_updates:
        if "school_id" in change:
            change["school_id"] = school_ids.get(school_ref, school_ref)
        session.execute(db.update(Group), [change])
    _write_people(plan)
    person_ids = dict(
        session.execute(
            db.select(people.c.external_id, people.c.id).where(
                people.c.organisation_id == organisation_id, people.c.external_id.is_not(None)
            )
        ).all()
    )
    _write_links(plan, school_ids, group_ids, person_ids)


def _add(obj):
    db.session.add(obj)
    db.session.flush()
    return obj.id


def _write_people(plan):
    session = db.session
    by_id = people.c.id == bindparam("b_id")
    if plan.email_moves:
        session.execute(
            people.update().where(by_id).values(email=None),
            [{"b_id": person_id} for person_id in plan.email_moves],
        )
    if plan.inserts:
        session.execute(people.insert(), plan.inserts)
    if plan.updates:
        columns = {name: bindparam(f"b_{name}") for name in UPDATED_FIELDS}
        session.execute(people.update().where(by_id).values(columns), plan.updates)
    if plan.deactivate:
        session.execute(
            people.update().where(by_id).values(active=False),
            [{"b_id": person_id} for person_id in plan.deactivate],
        )


def _write_links(plan, school_ids, group_ids, person_ids):
    """Insert and delete association rows so the imported people's links match the file."""

    def resolve(ref, ids):
        return ids[ref] if isinstance(ref, str) else ref

    def person(ref):
        return person_ids[ref.removeprefix("ext:")] if isinstance(ref, str) else ref

    current = plan.current
    tables = (
        (group_memberships, "person_id", "group_id", current.memberships, group_ids),
        (duties, "person_id", "school_id", current.duties, school_ids),
        (guardianships, "guardian_id", "student_id", current.children, None),
    )
    for position, (table, owner_column, other_column, existing, ids) in enumerate(tables, 1):
        added, removed = [], []
        for ref, *wanted in plan.links:
            owner = person(ref)
            targets = {
                person(target) if ids is None else resolve(target, ids)
                for target in wanted[position - 1]
            }
            have = existing.get(owner, set())
            added += [{owner_column: owner, other_column: t} for t in targets - have]
            removed += [{"b_owner": owner, "b_other": t} for t in have - targets]
        if removed:
            db.session.execute(
                table.delete().where(
                    and_(
                        table.c[owner_column] == bindparam("b_owner"),
                        table.c[other_column] == bindparam("b_other"),
                    )
                ),
                removed,
            )
        if added:
            db.session.execute(table.insert(), added)


def _audit(report, organisation, actor):
    record(
        "directory.imported",
        actor=actor,
        organisation=organisation,
        format=report.kind,
        full=report.full,
        errors=len(report.errors),
        warnings=len(report.warnings),
        **report.counts(),
    )

"""Who asks a read-only question: an API token, or a person logged in to the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from collector.db.models import ApiToken, User
from collector.errors import ApiError


@dataclass(frozen=True)
class Caller:
    role: str
    chatter_id: int | None
    name: str
    # A manager limited to these creator ids (a team lead); None: every creator.
    creators: frozenset[int] | None = None

    @property
    def limited(self) -> bool:
        return self.creators is not None


def forbidden(role: str, kind: str, roles: tuple[str, ...]) -> ApiError:
    return ApiError(403, "forbidden", f"a {role}{kind} cannot do this; needs {' or '.join(roles)}")


def of_user(user: User, roles: tuple[str, ...]) -> Caller:
    if user.role not in roles:
        raise forbidden(user.role, "", roles)
    return _checked(Caller(user.role, user.chatter_id, user.email, creator_limit(user)))


def creator_limit(user: User) -> frozenset[int] | None:
    """The creator ids a manager login is limited to (a team lead); None: every creator."""
    if user.role == "manager" and user.creators:
        return frozenset(c.id for c in user.creators)
    return None


def of_token(token: ApiToken) -> Caller:
    # Tokens carry no creator limit: a team lead reads through their login (README).
    return _checked(Caller(token.role, token.chatter_id, f"token:{token.name}"))


def _checked(caller: Caller) -> Caller:
    # A chatter login or token that lost its chatter must see nothing, not everything.
    if caller.role == "chatter" and caller.chatter_id is None:
        raise ApiError(403, "forbidden", "this chatter login is not linked to a chatter")
    return caller


def refuse_limited(caller: Caller, what: str) -> Caller:
    """A manager limited to some creators may not read what belongs to no creator."""
    if caller.limited:
        raise ApiError(403, "forbidden", f"a manager limited to some creators cannot see {what}")
    return caller

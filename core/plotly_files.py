"""Plotly's file addresses, for every kind of file plotserver keeps for Plotly's clients (plots,
grids, dashboards): a path 'folder/sub/name', a fid 'owner:<id>', and the lookup of a path.

`GET /v2/files/lookup` (web/plotly_api) finds plots and grids itself and asks the lookups the
apps above the core register here (AppConfig.ready) for their kinds: web imports no such app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from rest_framework.exceptions import NotFound, ValidationError

from core.models import Plot

# Both are CharFields, whose max_length is always set.
MAX_FOLDER_LENGTH = cast(int, Plot._meta.get_field("folder").max_length)
MAX_FILENAME_LENGTH = cast(int, Plot._meta.get_field("title").max_length)

# (request, owner's username, folder, name) -> the file's v2 answer, or None: another kind of file.
FileLookup = Callable[[Any, str, str, str], dict | None]
_lookups: list[FileLookup] = []


def register_lookup(lookup: FileLookup) -> None:
    """Let `GET /v2/files/lookup` find files of another kind (once per lookup)."""
    if lookup not in _lookups:
        _lookups.append(lookup)


def other_file_at(request: Any, username: str, folder: str, name: str) -> dict | None:
    """The first file a registered lookup finds at that path, or None."""
    for lookup in _lookups:
        found = lookup(request, username, folder, name)
        if found is not None:
            return found
    return None


def sharing_of(body: dict, default: str = Plot.PUBLIC) -> str:
    """Plotly's `world_readable` / `share_key_enabled` / `sharing` as one of the sharings of plots and dashboards."""
    sharing = body.get("sharing")
    if sharing in (Plot.PUBLIC, Plot.PRIVATE, Plot.SECRET):
        return sharing
    if body.get("share_key_enabled") is True:
        return Plot.SECRET
    world_readable = body.get("world_readable")
    if isinstance(world_readable, bool):
        return Plot.PUBLIC if world_readable else Plot.PRIVATE
    return default


def split_path(value: object, where: str = "path") -> tuple[str, str]:
    """'a/b/name' -> ('a/b', 'name'), checked; surrounding slashes are ignored as Plotly did."""
    if not isinstance(value, str) or not value.strip("/"):
        raise ValidationError({where: "A file path is a non-empty string like 'folder/name'."})
    parts = value.strip("/").split("/")
    if any(not part.strip() for part in parts):
        raise ValidationError({where: f"{value!r} has an empty folder name."})
    folder, name = "/".join(parts[:-1]), parts[-1]
    if len(name) > MAX_FILENAME_LENGTH or len(folder) > MAX_FOLDER_LENGTH:
        raise ValidationError(
            {where: f"Names are at most {MAX_FILENAME_LENGTH} characters, folders at most {MAX_FOLDER_LENGTH}."}
        )
    return folder, name


def file_location(body: dict) -> tuple[str, str] | None:
    """(folder, filename) from a v2 body's `filename` and `parent_path`, or None without a filename."""
    filename = body.get("filename")
    if filename in (None, ""):
        return None
    parent = body.get("parent_path") or ""
    if not isinstance(parent, str):
        raise ValidationError({"parent_path": "parent_path is a string like 'folder/sub'."})
    return split_path(f"{parent.strip('/')}/{filename}" if parent.strip("/") else filename, "filename")


def parse_fid(fid: str) -> tuple[str, int]:
    owner, _, local_id = fid.rpartition(":")
    if not owner or not local_id.isdigit():
        raise NotFound(f"{fid!r} is not a file id; file ids look like 'username:7'.")
    return owner, int(local_id)

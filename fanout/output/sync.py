"""Bringing the output folder in line with a render, quickly, with the help of the render cache.

The rules are ``fanout.output.folder``'s: a marker lists the files fanout wrote; fanout refuses a non-empty
folder without one, never overwrites or deletes a file it does not list, and works out every change
before it touches the disk. What is added here is speed at 100,000 files:

- files are compared through their recorded size/mtime/inode and content hash where the cache can
  vouch for them, and by reading their bytes otherwise;
- clusters the cache can reuse (see ``fanout.output.cache``) are not rendered at all;
- nothing changes unless everything succeeds: every new or changed file is first written in full to a
  temporary name beside it (by the worker processes that hold its bytes), flushed to disk, and only then
  moved into place (by those workers too: ``fanout.output.moves``); a changed or removed file keeps a
  hard-linked backup until the end. A failure (disk full, a folder made read-only) puts back what was
  renamed and leaves the folder as it was; a killed run leaves no half-written file under a real name,
  and its temporary files are listed in the marker (``pending``) so that the next run clears them; the
  marker's own staging file has a fixed name that the next write reuses.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from types import MappingProxyType

from fanout.core.errors import FanoutError, Problem
from fanout.output.cache import (
    NO_KEYS,
    ClusterRecord,
    FileRecord,
    State,
    StatFields,
    content_digest,
    file_record,
    load_state,
    stat_fields,
    state_path,
)
from fanout.output.cores import default_jobs, start_method
from fanout.output.folder import (
    MARKER,
    MARKER_STAGING,
    Changes,
    Listing,
    Marker,
    _Folder,
    by_cluster,
    cluster_entries,
    is_temporary,
    marker_content,
    marker_of_clusters,
    parse_marker,
    pending_parts,
    spliced_marker,
)
from fanout.output.moves import Transaction, first_indexes, folder_moves, moves, txn_backup
from fanout.output.staging import (
    CHANGED,
    FRESH,
    NEW,
    Mover,
    Placed,
    Requests,
    StageFailure,
    Write,
    Writer,
    file_mode,
    flush,
    stages_whole,
    staging_folder,
    whole,
    write_marker,
)
from fanout.output.verify import EarlyProof, digest_of, verified, verify_clusters


@dataclass(frozen=True)
class ClusterFiles:
    """One cluster's files: paths relative to its folder (apply order, kustomization last) and digests."""

    name: str
    paths: tuple[str, ...]
    digests: tuple[str, ...]  # SHA-256 of each file's content, hex
    # Each file's object key (``fanout.output.cache.ObjectKeys``; b"" for none), when the render made them.
    keys: tuple[bytes, ...] = ()

    @property
    def objects(self) -> int:
        return len(self.paths) - 1


@dataclass(frozen=True)
class Folder:
    """The output folder as it is before a render: what fanout owns there, by its marker."""

    path: Path
    owned: AbstractSet[str]
    marker: bytes | None
    digests: Mapping[str, str | None]  # owned path -> SHA-256 of what fanout wrote there (None: unknown)
    pending: tuple[str, ...] = ()  # temporary files a killed run left
    warnings: tuple[str, ...] = ()  # marker entries not trusted
    clusters: Mapping[str, str] = field(default_factory=dict)  # cluster -> inputs' digest, by the marker
    # Set when the marker is the one the render state was saved with (``State.marker``): the state's
    # records, which ``owned`` and ``digests`` are views of (not copies).
    records: Mapping[str, ClusterRecord] | None = None
    parsed: Marker | None = None  # the marker as parsed, when it was (``--trusted-base`` may reuse it)

    @property
    def canonical(self) -> bool:
        """The marker is byte for byte what ``marker_content`` wrote for the state's records, so its entries
        can be copied (``spliced_marker``) and the state's proof stands for it."""
        return self.records is not None


# Another marker's bytes and its files by cluster ({cluster: {path in its folder: digest}}), which a new
# marker may copy entries from (``--trusted-base``'s REF, trusted as CI checked it).
Donor = tuple[bytes, Mapping[str, Mapping[str, str | None]]]


class _Listing(Mapping[str, str | None]):
    """Paths and digests (``cluster/relative`` -> SHA-256) read from each cluster's own map when asked, not
    copied into one map of 100,000 entries: render state records (``reused``: a state's, or a render's
    reused clusters) and, for a new marker, the rendered clusters' files (``rendered``). A cluster is in
    one of the two, never both."""

    def __init__(
        self,
        reused: Mapping[str, ClusterRecord],
        rendered: Mapping[str, Mapping[str, str | None]] = MappingProxyType({}),
    ) -> None:
        self._reused = reused
        self._rendered = rendered
        self._len = sum(map(len, rendered.values())) + sum(len(record.files) for record in reused.values())

    def __getitem__(self, path: str) -> str | None:
        name, _, relative = path.partition("/")
        files = self._rendered.get(name)
        if files is not None and relative in files:
            return files[relative]
        record = self._reused.get(name)
        if record is None or not relative or relative not in record.files:
            raise KeyError(path)
        return content_digest(record.files[relative])

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        name, _, relative = path.partition("/")
        files = self._rendered.get(name)
        if files is not None and relative in files:
            return True
        record = self._reused.get(name)
        return record is not None and bool(relative) and relative in record.files

    def __iter__(self) -> Iterator[str]:
        for name, record in self._reused.items():
            for relative in record.files:
                yield f"{name}/{relative}"
        for name, files in self._rendered.items():
            for relative in files:
                yield f"{name}/{relative}"

    def __len__(self) -> int:
        return self._len

    def relatives(self, name: str) -> Collection[str]:
        """The paths in cluster ``name``'s folder that the listing holds (none for a cluster it lacks)."""
        files = self._rendered.get(name)
        if files is not None:
            return files.keys()
        record = self._reused.get(name)
        return record.files.keys() if record is not None else ()

    def plain(self) -> dict[str, str | None]:
        """A dict of every entry (what ``marker_content`` encodes)."""
        listed: dict[str, str | None] = {}
        for name, record in self._reused.items():
            listed.update((f"{name}/{relative}", content_digest(f)) for relative, f in record.files.items())
        for name, files in self._rendered.items():
            listed.update((f"{name}/{relative}", digest) for relative, digest in files.items())
        return listed


def open_folder(out: Path, state: State | None = None) -> Folder:
    """Read the marker; refuse a file, or a non-empty folder fanout did not create.

    ``state``: the render cache's state; when it was saved with this very marker (``State.marker``), its
    records list the same files and digests, and are read instead of parsing 100,000 marker entries.
    """
    if out.exists() and not out.is_dir():
        raise FanoutError.at(f"output {out} exists and is not a folder")
    where = out / MARKER
    raw = where.read_bytes() if where.is_file() else None
    if (
        raw is not None
        and state is not None
        and state.marker  # "" names no marker: the digest is only worked out when there is one to match
        and state.marker == hashlib.sha256(raw).hexdigest()
    ):
        listing = _Listing(state.clusters)
        clusters = {name: record.inputs for name, record in state.clusters.items()}
        return Folder(out, listing.keys(), raw, listing, (), (), clusters, records=state.clusters)
    previous = parse_marker(raw, str(where)) if raw is not None else None
    # A first write killed while writing the marker leaves only fanout's own temporary file behind.
    if previous is None and out.is_dir() and any(not is_temporary(p.name) for p in out.iterdir()):
        raise FanoutError.at(
            f"refusing to write into {out}: it is not empty and fanout did not create it (no {MARKER});"
            " choose another --output-dir or empty the folder"
        )
    if previous is None:
        return Folder(out, frozenset(), None, {})
    files = previous.files
    return Folder(
        out,
        files.keys(),
        raw,
        files,
        previous.pending,
        previous.warnings,
        previous.clusters,
        parsed=previous,
    )


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


@dataclass(frozen=True)
class Early:
    """The render state of an output folder, and its stat proof (``verify.EarlyProof``) under way, started
    before the inputs are read and before the folder's lock is taken."""

    target: Path  # resolved
    state: State
    state_stat: StatFields  # the state file's, when the state was loaded
    proof: EarlyProof

    def state_if_unchanged(self, target: Path, folder: Path | None) -> State | None:
        """The state, if ``target`` is the folder it was loaded for and its file was not written since (a
        fanout that wrote the folder in between saved a new one); else None, and the proof is stopped."""
        try:
            now = state_path(target, folder).stat()
        except OSError:
            now = None
        same = now is not None and stat_fields(now) == self.state_stat
        if same and target.resolve() == self.target:
            return self.state
        self.proof.close()
        return None


def start_proof(out: Path, code: bytes, folder: Path | None) -> Early | None:
    """``Early`` for ``out``, when its state was saved with the marker it holds (``State.marker``): the
    only case in which the proof can stand for ``reusable``'s. None, too, where a second process would
    not run beside this one (one core) or cannot be forked safely."""
    if default_jobs() < 2 or start_method() != "fork":
        return None
    path = state_path(out, folder)
    try:
        before = path.stat()
        marker = (out / MARKER).read_bytes()
    except OSError:
        return None
    state = load_state(out, code, folder)
    if (
        not state.marker
        or state.marker != hashlib.sha256(marker).hexdigest()
        or state.saved_ns != before.st_mtime_ns
    ):
        return None
    clusters = {name: record.files for name, record in state.clusters.items()}
    proof = EarlyProof(str(out.resolve()), clusters, state)
    return Early(out.resolve(), state, stat_fields(before), proof)


def reusable(
    folder: Folder, state: State, digests: Mapping[str, str], early: Early | None = None
) -> dict[str, ClusterRecord]:
    """The clusters whose inputs are unchanged and whose files are still exactly what fanout wrote.

    Records of files that had to be read to be verified come back with their new stat. ``early``: its
    proof stands for this one when ``state`` is its state and the folder's marker the state's.
    """
    candidates = {
        name: record.files
        for name, digest in digests.items()
        if (record := state.clusters.get(name)) is not None and record.inputs == digest
    }
    proven = early.proof.answer() if early is not None and early.state is state and folder.canonical else None
    if early is not None:
        early.proof.close()
    if proven is not None:
        found = {name: proven[name] for name in candidates}
    else:
        found = verify_clusters(str(folder.path), candidates, folder.owned, state)
    return {
        name: ClusterRecord(digests[name], files, state.clusters[name].keys)
        for name, files in found.items()
        if files is not None
    }


def intact_by_state(out: Path, state: State) -> dict[str, ClusterRecord] | None:
    """``intact`` for a folder whose marker is the one ``state`` was saved with (``State.marker``; the
    caller compares the digests): the state's records list exactly the marker's files, so the marker need
    not be parsed, only every file proved by stat (or, failing that, content) as ``intact`` does."""
    found = verify_clusters(str(out), {n: r.files for n, r in state.clusters.items()}, None, state)
    records: dict[str, ClusterRecord] = {}
    for name, record in state.clusters.items():
        files = found[name]
        if files is None:
            return None
        records[name] = record if files is record.files else ClusterRecord(record.inputs, files, record.keys)
    return records


def intact(folder: Folder, state: State) -> dict[str, ClusterRecord] | None:
    """Each cluster's record if every file the marker lists is still exactly as listed, else None.

    Files are proved by the cache's stat records where those vouch for them, else by their content;
    the records come back refreshed (``fanout.output.snapshot``'s fast path saves them).
    """
    grouped = by_cluster(folder.digests)
    if folder.pending or folder.warnings or sum(map(len, grouped.values())) != len(folder.digests):
        return None  # unfinished, doubtful, or listing a file outside every cluster folder
    root = str(folder.path)
    records: dict[str, ClusterRecord] = {}
    for name, files in grouped.items():
        record = state.clusters.get(name)
        if record is not None and {r: content_digest(f) for r, f in record.files.items()} == files:
            verified_files = verified(f"{root}/{name}/", f"{name}/", record.files, folder.owned, state)
            if verified_files is None:
                return None
            records[name] = ClusterRecord(record.inputs, verified_files, record.keys)
            continue
        read: dict[str, FileRecord] = {}
        for relative, digest in files.items():
            target = f"{root}/{name}/{relative}"
            stat = _stat(target)
            if digest is None or stat is None or not S_ISREG(stat.st_mode) or digest_of(target) != digest:
                return None
            read[relative] = file_record(stat, digest)
        records[name] = ClusterRecord(folder.clusters.get(name, ""), read)
    return records


def _plain(listing: Mapping[str, str | None]) -> dict[str, str | None]:
    """``listing`` as a dict (``marker_content`` encodes one), not copied when it is one."""
    if isinstance(listing, dict):
        return listing
    if isinstance(listing, _Listing):
        return listing.plain()
    return dict(listing.items())


@dataclass(frozen=True)
class Plan:
    """Every change a render makes, worked out before anything is written."""

    changes: Changes
    requests: Requests  # by cluster (in marker order), its added and changed files
    records: dict[str, ClusterRecord]  # the cache's new state for the clusters in scope
    objects: int
    listing: Mapping[str, str | None]  # the files the new marker lists, with the digest of each
    inputs: Mapping[str, str]  # cluster -> the digest of its inputs, for the marker
    dropped: bool = True  # whether a file the old marker lists is not in ``listing``


def plan(
    folder: Folder,
    scope: Collection[str] | None,
    rendered: Iterable[ClusterFiles],
    reused: Mapping[str, ClusterRecord],
    state: State,
    digests: Mapping[str, str],
    donor: Donor | None = None,
) -> Plan:
    """What writing the rendered and reused clusters into the folder changes (``scope``: None = all).

    ``donor``: another marker whose entries the new marker may copy (``_spliced``)."""
    guard = _Folder(folder.path)
    added: list[str] = []
    changed: list[str] = []
    foreign: list[Problem] = []
    requests: dict[str, list[Write]] = {}
    unchanged = 0
    objects = 0
    records: dict[str, ClusterRecord] = {}

    for name, record in reused.items():
        unchanged += len(record.files)
        objects += record.objects
        records[name] = record

    root = str(guard.root)
    checked: set[str] = set()
    # Each rendered cluster's files (path in its folder -> SHA-256): clusters share the path strings, where
    # a map by full path would hold a string of its own for every file of the fleet.
    listed: dict[str, Mapping[str, str | None]] = {}
    # Every cluster's marker entries, when no old marker can lend any (``_spliced`` could not): a first
    # render, or one without the cache.
    fresh_marker: dict[str, tuple[int, int]] | None = (  # cluster -> its entries' bounds in ``encoded``
        {} if scope is None and not reused and not _lends(folder) and donor is None else None
    )
    encoded = bytearray()
    for cluster in rendered:
        old = state.clusters.get(cluster.name)
        files: dict[str, FileRecord] = {}
        objects += cluster.objects
        # A cluster folder that does not exist holds nothing to compare with (the common first render),
        # and no symlink that could lead out of the output folder.
        missing = not os.path.isdir(f"{root}/{cluster.name}")
        # Such a folder is staged whole and moved in with one rename (``staging.FRESH``).
        new = FRESH if missing and stages_whole(cluster.name) else NEW
        wanted: list[Write] = []
        cluster_checked = False
        listed[cluster.name] = dict(zip(cluster.paths, cluster.digests, strict=True))
        if fresh_marker is not None:
            # Encoded now, while the workers still render: at the end it would be work on one core. Into
            # one buffer: many small blocks freed among long-lived ones would stay in the process's heap.
            start = len(encoded)
            encoded += cluster_entries(cluster.name, listed[cluster.name])
            fresh_marker[cluster.name] = (start, len(encoded))
        for relative, digest in zip(cluster.paths, cluster.digests, strict=True):
            full = f"{cluster.name}/{relative}"
            parent, _, base = full.rpartition("/")
            if parent not in checked or base in ("", ".", ".."):
                if missing and ".." not in full.split("/") and not full.startswith("/"):
                    if not cluster_checked:  # its own name, once: no folder below it exists to be a link
                        guard.path(f"{cluster.name}/_")
                        cluster_checked = True
                else:
                    guard.path(full)  # refuses anything that would leave the output folder
                checked.add(parent)
            target = f"{root}/{full}"
            stat = None if missing else _stat(target)
            if stat is None:
                added.append(full)
                wanted.append((relative, digest, new))
                continue
            if not S_ISREG(stat.st_mode):
                foreign.append(Problem(f"refusing to replace {target}: it is not a file"))
                continue
            known = old.files.get(relative) if old is not None else None
            if known is not None and full in folder.owned and state.trusted(known, stat):
                current: str | None = content_digest(known)
            else:
                current = digest_of(target)
            if current == digest:
                unchanged += 1
                files[relative] = file_record(stat, digest)
            elif full in folder.owned:
                changed.append(full)
                wanted.append((relative, digest, CHANGED))
            else:
                foreign.append(Problem(f"refusing to overwrite {target}: fanout did not write it"))
        keys = NO_KEYS
        if cluster.keys:
            keys = {relative: key for relative, key in zip(cluster.paths, cluster.keys, strict=True) if key}
        records[cluster.name] = ClusterRecord(digests[cluster.name], files, keys)  # written files join later
        if wanted:
            requests[cluster.name] = wanted
    if foreign:
        raise FanoutError(foreign)
    # Clusters arrive in no set order (from worker processes): write them in the marker's.
    requests = {name: requests[name] for name in sorted(requests, key=lambda name: f"{name}/")}

    def in_scope(path: str) -> bool:
        return scope is None or path.split("/", 1)[0] in scope

    removed: list[str] = []
    kept: list[str] = []
    new_listing = _Listing(reused, listed)
    gone = _gone(folder, scope, reused, new_listing, in_scope)
    for path in gone:
        existing = guard.root / path
        if not existing.is_file() or existing.is_symlink():
            continue
        recorded = folder.digests.get(path)
        # Only what is still fanout's own content is deleted: someone else's edit stays, unlisted.
        if recorded is None or digest_of(str(existing)) == recorded:
            removed.append(path)
        else:
            kept.append(path)
    listing: Mapping[str, str | None]
    if scope is None:
        listing = new_listing
    else:
        listing = {p: d for p, d in folder.digests.items() if not in_scope(p)}
        listing.update(_plain(new_listing))
    inputs = {n: d for n, d in folder.clusters.items() if scope is not None and n not in scope}
    inputs.update((name, digests[name]) for name in records)
    if fresh_marker is not None:
        view = memoryview(encoded)
        marker: bytes | None = marker_of_clusters(
            {n: view[a:b] for n, (a, b) in fresh_marker.items()}, inputs
        )
        del view, encoded  # 100,000 entries: the marker holds them now
    else:
        marker = _spliced(folder, reused, listed, inputs, donor) if scope is None else None
    if marker is None:
        marker = marker_content(_plain(listing), clusters=inputs)
    changes = Changes(
        tuple(sorted(added)),
        tuple(sorted(changed)),
        tuple(removed),
        unchanged,
        marker,
        marker != folder.marker,
        tuple(kept),
    )
    return Plan(changes, requests, records, objects, listing, inputs, bool(gone))


def _gone(
    folder: Folder,
    scope: Collection[str] | None,
    reused: Mapping[str, ClusterRecord],
    new_files: Mapping[str, str | None],
    in_scope: Callable[[str], bool],
) -> list[str]:
    """The files the folder lists that the new listing does not (in scope), sorted. From the state's
    records, a reused cluster whose files are the ones the state lists is passed over whole."""
    if folder.records is None or scope is not None:
        listed = folder.digests
        if scope is None and isinstance(listed, Listing) and isinstance(new_files, _Listing):
            # Cluster by cluster, as the two listings hold them: a set difference of each folder's paths
            # instead of 100,000 full paths split and looked up one at a time (without the state: a fresh
            # clone's --check, --no-cache).
            leaving = list(listed.outside)  # the new listing holds cluster folders' files only
            for name, old_files in listed.clusters.items():
                kept = new_files.relatives(name)
                leaving.extend(f"{name}/{relative}" for relative in old_files if relative not in kept)
            return sorted(leaving)
        return sorted(p for p in folder.owned if p not in new_files and in_scope(p))
    gone: list[str] = []
    for name, record in folder.records.items():
        now = reused.get(name)
        if now is not None and (now.files is record.files or now.files.keys() == record.files.keys()):
            continue  # every one of its files is in the new listing
        gone.extend(path for relative in record.files if (path := f"{name}/{relative}") not in new_files)
    return sorted(gone)


def _spliced(
    folder: Folder,
    reused: Mapping[str, ClusterRecord],
    listed: Mapping[str, Mapping[str, str | None]],
    inputs: Mapping[str, str],
    donor: Donor | None = None,
) -> bytes | None:
    """The new marker with the entries of each reused cluster whose files the old marker (else ``donor``)
    lists with the same digests copied from it, not encoded again; None where neither can serve."""
    records = folder.records
    if not _lends(folder) or records is None or folder.marker is None:  # (the last two: for the type checker)
        return _donated(donor, reused, listed, inputs) if donor is not None else None
    files: dict[str, Mapping[str, str | None] | None] = dict(listed)
    for name, record in reused.items():
        old = records.get(name)
        same = old is not None and (
            old.files is record.files
            or (
                old.files.keys() == record.files.keys()
                and all(content_digest(f) == content_digest(old.files[r]) for r, f in record.files.items())
            )
        )
        files[name] = None if same else {r: content_digest(f) for r, f in record.files.items()}
    return spliced_marker(folder.marker, records, files, inputs)


def _lends(folder: Folder) -> bool:
    """Whether the folder's marker can lend its entries to the new one: it is the marker the state's records
    list (so fanout wrote it, byte for byte), with no pending files."""
    return folder.records is not None and folder.marker is not None and not folder.pending


def _donated(
    donor: Donor,
    reused: Mapping[str, ClusterRecord],
    listed: Mapping[str, Mapping[str, str | None]],
    inputs: Mapping[str, str],
) -> bytes | None:
    """``_spliced`` from another marker: ``donor`` is its bytes and its files by cluster."""
    raw, old = donor
    files: dict[str, Mapping[str, str | None] | None] = dict(listed)
    for name, record in reused.items():
        before = old.get(name)
        same = (
            before is not None
            and before.keys() == record.files.keys()
            and all(content_digest(f) == before[r] for r, f in record.files.items())
        )
        files[name] = None if same else {r: content_digest(f) for r, f in record.files.items()}
    return spliced_marker(raw, old, files, inputs)


def clear_pending(folder: Folder) -> None:
    """Remove the temporary files a killed run listed in the marker (only fanout's own names), and the
    marker's staging file a run killed while writing the marker left (a name fanout reserves); then the
    folders that held nothing else (a killed first render of a cluster made them), up to the output folder.
    Only empty folders are removed: ``rmdir`` cannot take a file with it."""
    guard = _Folder(folder.path)
    for path in (*folder.pending, MARKER_STAGING):
        with contextlib.suppress(OSError, FanoutError):
            target = guard.path(path)
            # In a staging folder, the file's own name is not a temporary one: no folder on the way may be
            # a link, so that a planted link cannot lead the removal to another folder's files.
            in_staging = "/" in path and not is_temporary(path.rpartition("/")[2])
            if in_staging and _linked(guard.root, path):
                continue
            removed = target.is_file() and not target.is_symlink()
            if removed:
                target.unlink()
            # A staging folder is fanout's own whatever it holds: its folders go even when the file was never
            # written (a run killed while staging made every folder first).
            if removed or in_staging:
                parent = target.parent
                while parent != guard.root and parent.is_relative_to(guard.root) and not parent.is_symlink():
                    with contextlib.suppress(FileNotFoundError):  # not made yet: the one above may be empty
                        os.rmdir(parent)  # another OSError (not empty) ends it
                    parent = parent.parent


def _linked(root: Path, path: str) -> bool:
    """Whether a folder on ``path`` (relative to ``root``) is a symbolic link."""
    current = root
    for part in path.split("/")[:-1]:
        current = current / part
        if current.is_symlink():
            return True
    return False


def _restore_marker(path: str, content: bytes | None, mode: int) -> None:
    if content is None:
        os.unlink(path)
    else:
        write_marker(path, content, mode)


def _journal(
    folder: Folder, result: Plan, requests: Requests, token: str, removals: list[tuple[str, str]], root: str
) -> list[bytes | memoryview]:
    """The marker that lists every temporary name of the write as pending (in parts: it can be large)."""
    cut = len(root) + 1
    removed: dict[str, list[str]] = {}
    for _, backup in removals:
        relative = backup[cut:]
        removed.setdefault(relative.partition("/")[0], []).append(relative)

    # Every name is under its cluster's folder, or its staging folder (a FRESH cluster): sorted by that
    # folder ("name/" orders them as the whole names would), the names are sorted as a whole.
    def folder_of(name: str) -> str:
        return f"{staging_folder(name, token)}/" if whole(requests.get(name, ())) else f"{name}/"

    clusters = sorted({*requests, *removed}, key=folder_of)

    first = first_indexes(requests)

    def names(cluster: str) -> Iterator[str]:
        share = {cluster: requests.get(cluster, ())}
        for staged, _, backup in moves(root, share, token, first.get(cluster, 0)):
            yield staged[cut:]
            if backup is not None:
                yield backup[cut:]
        yield from removed.get(cluster, ())

    groups = (names(cluster) for cluster in clusters)
    if not result.dropped:  # nothing listed goes: the new listing
        return pending_parts(result.changes.marker, groups)
    pending = [name for group in groups for name in group]
    both = dict(folder.digests.items())
    both.update(_plain(result.listing))
    return [marker_content(both, pending, result.inputs)]


def apply(
    folder: Folder, result: Plan, writer: Writer, mover: Mover | None = None
) -> dict[str, ClusterRecord]:
    """Make the changes, all or none; returns the cache records of the clusters in scope.

    ``writer`` stages the files (``staging.stage``, or the worker processes that hold the bytes);
    ``mover``, if given, moves them into place (the worker processes, each its own clusters' files);
    it returns or raises only once no other process is moving anything (see ``fanout.output.moves``).
    """
    out = folder.path
    changes = result.changes
    existed = out.is_dir()
    out.mkdir(parents=True, exist_ok=True)
    guard = _Folder(out)
    mode = file_mode()
    root = str(guard.root)
    clear_pending(folder)
    requests = result.requests
    marker_path = f"{root}/{MARKER}"
    token = secrets.token_hex(6)
    count = len(changes.added) + len(changes.changed)
    removals = [
        (f"{root}/{p}", txn_backup(f"{root}/{p}", token, count + i)) for i, p in enumerate(changes.removed)
    ]
    created: list[str] = []
    txn = Transaction(lambda: moves(root, requests, token), lambda: folder_moves(root, requests, token))
    try:
        if count or removals:
            # The journal, before anything else: the new files are fanout's and every temporary name is
            # listed, so that a killed run leaves nothing the next one refuses to touch or cannot clear.
            write_marker(marker_path, _journal(folder, result, requests, token, removals, root), mode)
            txn.undo_marker = lambda: _restore_marker(marker_path, folder.marker, mode)
        if requests:
            try:
                created = writer(root, mode, requests, token)  # creates the folders the files need
            except StageFailure as failure:
                created = failure.created
                raise
        flush(root)
        placed: Mapping[str, Placed] = {}
        if mover is None:
            txn.put_all()
        elif requests:
            txn.handed_off = True
            placed = mover(root, requests, token)
        for target, backup in removals:
            txn.remove(target, backup)
        if changes.marker_changed or count or removals:
            write_marker(marker_path, changes.marker, mode)
        flush(root)
    except BaseException as exc:
        txn.rollback()
        for path, _, _ in txn.moves():  # staged here or by a worker that failed later: all by name
            with contextlib.suppress(OSError):
                os.unlink(path)
        for path in reversed(created):
            with contextlib.suppress(OSError):
                os.rmdir(path)
        if not existed:
            with contextlib.suppress(OSError):
                out.rmdir()
        if isinstance(exc, (OSError, StageFailure)):
            if isinstance(exc, StageFailure):
                reason = exc.reason
            else:
                reason = f"{exc.strerror or exc} ({exc.filename})"
            raise FanoutError.at(f"writing {out} failed, so nothing in it was changed: {reason}") from None
        raise
    for backup in txn.backups():  # committed: the backups are garbage now
        with contextlib.suppress(OSError):
            os.unlink(backup)
    for path in changes.removed:  # folders the removals emptied, up to (not including) the output folder
        parent = (guard.root / path).parent
        while parent != guard.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    records = dict(result.records)
    for cluster, items in requests.items():
        record = records[cluster]
        files = dict(record.files.items())
        measured = placed.get(cluster)
        if measured is not None:  # by the worker that moved them
            for at, (relative, digest, _) in zip(range(0, len(measured), 4), items, strict=True):
                files[relative] = (measured[at], measured[at + 1], measured[at + 2], measured[at + 3], digest)
        else:
            for relative, digest, _ in items:
                files[relative] = file_record(os.stat(f"{root}/{cluster}/{relative}"), digest)
        records[cluster] = ClusterRecord(record.inputs, files, record.keys)
    return records

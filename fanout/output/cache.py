"""The render cache: skip the clusters whose inputs have not changed since fanout last wrote them.

It has two halves:

- **Cluster digests** (``input_digests``): a SHA-256 per cluster over everything its files are made
  from: every setting of the inputs, the cluster itself, and every template and patch of its render
  plan, in order. Objects are fingerprinted whole (every dataclass field, recursively), so a field
  someone adds later is covered without a change here. Only source positions are left out: they change
  error messages, not output. These digests are the same on every machine, so the output folder's
  marker records them too (for ``render --check --trusted-base``, see ``fanout.output.trustedbase``).
- **A state file per output folder** (``State``), kept in the user's cache folder and never in the
  output: for each cluster, the digest it was rendered from and, for each of its files, the size,
  mtime, inode and content hash fanout wrote, and the key of the object it holds (``ObjectKeys``). The
  whole file is keyed by ``code_digest`` (fanout's own code and the versions of the libraries that shape
  the output), so a new fanout starts afresh.
- **Object keys** (``ObjectKeys``, ``Reuse``): a cluster whose digest changed is rendered again, but
  an object in it whose key (its template, its patches, the cluster values it reads, every setting) is
  the one recorded for its file needs no rendering: its content digest is the recorded one. Its bytes
  are rendered after all only if the file must be written (``fanout.output.parallel``).

A cluster is reused only when its digest is unchanged *and* every one of its files is still exactly
what fanout wrote: the stat fields match (and the file is not "racy", see ``State.trusted``) or, failing
that, the file's bytes hash to the recorded value. Anything unreadable or unexpected in the state file
makes it count as empty: the cache can make a render faster, never different.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import marshal
import os
import sys
from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fanout.core.cachefile import read_sealed, write_sealed_parts
from fanout.core.document import Document
from fanout.core.errors import Location
from fanout.core.model import Inputs
from fanout.core.schemas import schema_dir
from fanout.render.place import ClusterPlan, Job

# The state file's kind (``core.cachefile``): the format and Python's marshal version.
_MAGIC = f"fanout-render-state 6 {sys.version_info[0]}.{sys.version_info[1]} {marshal.version}\n".encode()
# A file whose mtime is this close to (or after) the moment the state was saved may have been changed
# again within the same timestamp tick; it is checked by content, not by stat (git's "racy clean").
RACY_NS = 50_000_000


# --- fingerprints --------------------------------------------------------------------------------


# Where the fingerprinted classes lived before fanout/ was grouped into packages: their digests (in every
# committed marker) name the class, so a move must not change them.
_FINGERPRINT_MODULES = {
    new: "fanout." + old  # written apart, so that moving modules again leaves the old names alone
    for new, old in {
        "fanout.core.errors": "errors",
        "fanout.core.model": "model",
        "fanout.core.limits": "limits",
        "fanout.core.selectors": "selectors",
        "fanout.core.document": "document",
        "fanout.render.place": "place",
        "fanout.formats.scheduling": "scheduling",
        "fanout.formats.replicas": "replicas",
        "fanout.kube.patchmeta": "patchmeta",
    }.items()
}


def _is_default(item: dataclasses.Field[Any], value: Any) -> bool:
    if item.default is not dataclasses.MISSING:
        default = item.default
    elif item.default_factory is not dataclasses.MISSING:
        default = item.default_factory()
    else:
        return False
    return type(value) is type(default) and bool(value == default)


def _encode(value: Any, out: list[str]) -> None:
    """An unambiguous text for plain data, dataclasses and named tuples (types are part of it)."""
    # The parsed YAML's own types first, by exact type: the same text as the general branches below give
    # them, without their ABC and dataclass tests (0.1 s of a re-render that fingerprints 1,000 inputs).
    kind = type(value)
    if kind is str:
        out.append(f"s{len(value)}:")
        out.append(value)
    elif kind is dict:
        out.append(f"M{len(value)}{{")
        for key, item in value.items():
            _encode(key, out)
            _encode(item, out)
        out.append("}")
    elif kind is list or kind is tuple:
        out.append(f"L{kind.__qualname__}{len(value)}[")
        for item in value:
            _encode(item, out)
        out.append("]")
    elif kind is int:
        out.append(f"i{value};")
    else:
        _encode_other(value, out)


def _encode_other(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("N")
    elif value is True or value is False:
        out.append("T" if value else "F")
    elif isinstance(value, str):
        out.append(f"s{len(value)}:")
        out.append(value)
    elif isinstance(value, int):
        out.append(f"i{value};")
    elif isinstance(value, float):
        out.append(f"f{value!r};")
    elif isinstance(value, Document):
        # Where the document is (it names the files' headers) and what it holds; not its positions.
        out.append("Doc(")
        _encode(value.path, out)
        _encode(value.index, out)
        _encode(value.item, out)
        _encode(value.data, out)
        out.append(")")
    elif isinstance(value, Location):
        # Its file, not its line: a comment added above a HelmChart or a policy changes no output, so it
        # must not change the digests (the committed marker's included), as a Document's positions do not.
        out.append("Loc(")
        _encode(value.path, out)
        out.append(")")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        module = type(value).__module__
        out.append(f"D{_FINGERPRINT_MODULES.get(module, module)}.{type(value).__qualname__}(")
        for item in dataclasses.fields(value):
            field_value = getattr(value, item.name)
            if _is_default(item, field_value):
                continue  # a field added later at its default leaves the committed digests as they were
            out.append(item.name)
            _encode(field_value, out)
        out.append(")")
    elif isinstance(value, Mapping):
        out.append(f"M{len(value)}{{")
        for key, item in value.items():
            _encode(key, out)
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append(f"L{type(value).__qualname__}{len(value)}[")
        for item in value:
            _encode(item, out)
        out.append("]")
    elif isinstance(value, (set, frozenset)):
        encoded = []
        for item in value:
            part: list[str] = []
            _encode(item, part)
            encoded.append("".join(part))
        out.append(f"S{len(encoded)}{{" + "".join(sorted(encoded)) + "}")
    else:
        # Unknown objects: their repr usually holds an address, so the digest never matches twice and
        # the cache is merely bypassed rather than wrong.
        out.append(f"R{type(value).__qualname__}:{value!r};")


def fingerprint(value: Any) -> bytes:
    out: list[str] = []
    _encode(value, out)
    return hashlib.sha256("".join(out).encode("utf-8", "surrogatepass")).digest()


# The fanout package: this module's grandparent. (When this module moved into ``fanout/output``, the digest
# kept reading its own folder only, so a fanout whose rendering changed elsewhere took the old state's and
# snapshot's word for an up-to-date folder.)
_PACKAGE = Path(__file__).resolve().parent.parent


def _package_files() -> Iterable[Path]:
    """Every file of the fanout package (code and data), then the JSON Schemas it checks the inputs against
    when they are not inside it (a source checkout keeps them beside the package)."""
    yield from sorted(p for p in _PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    schemas = schema_dir()
    if schemas.is_dir() and not schemas.is_relative_to(_PACKAGE):
        yield from sorted(p for p in schemas.glob("*.json") if p.is_file())


# The libraries whose code shapes fanout's output.
_LIBRARIES = ("yaml", "jsonpatch", "jsonpointer", "helm_python")  # helm_python: Helm's engine (optional)


def _library_files() -> Iterable[tuple[str, bytes]]:
    """Each library's entry file and the names beside it (which show whether libyaml's extension is
    there), found without importing them: importing PyYAML alone costs more than a cached check."""
    import importlib.util

    for name in _LIBRARIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin is None or not os.path.isfile(origin):
            yield name, b"missing"
            continue
        with open(origin, "rb") as handle:
            content = handle.read()
        beside = (
            "\0".join(sorted(os.listdir(os.path.dirname(origin))))
            if spec and spec.submodule_search_locations
            else ""
        )
        yield name, content + b"\0" + beside.encode("utf-8", "surrogateescape")


@cache  # read once per process (1.2 MB): a render asks twice, and fanout's files do not change under it
def code_digest() -> bytes:
    """fanout's own files and what shapes its output: a new fanout, Python or library means a new digest.

    The libraries count by the bytes of their entry files (which hold their versions), not by importing them.
    """
    digest = hashlib.sha256()
    digest.update(sys.version.encode() + b"\0")
    for name, content in _library_files():
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    for path in _package_files():
        digest.update(str(path.relative_to(_PACKAGE.parent)).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.digest()


# What ``input_digests`` starts from instead of ``code_digest``: the same on every machine, so that the
# digests can be committed in the output folder's marker. Change it when the fingerprints' scheme changes.
PORTABLE_SCHEME = b"fanout input digest 1"


class Fingerprints:
    """``fingerprint`` of each object once, by identity (plans share templates, patches and jobs); the
    objects are kept alive with their fingerprints, so that an id is never another object's."""

    def __init__(self) -> None:
        self.memo: dict[int, tuple[Any, bytes]] = {}

    def __call__(self, value: Any) -> bytes:
        found = self.memo.get(id(value))
        if found is None:
            found = self.memo[id(value)] = (value, fingerprint(value))
        return found[1]


def job_bytes(job: Job, part: Fingerprints) -> bytes:
    """A job's bytes in the digests: its template's fingerprint, how many patches, theirs."""
    return b"".join(
        [part(job.template), len(job.patches).to_bytes(4, "big"), *(part(p) for p in job.patches)]
    )


def settings_prefix(inputs: Inputs, code: bytes) -> bytes:
    """A digest of ``code`` and every setting of the inputs except the three big collections, whose parts
    enter the digests through the plans."""
    base = hashlib.sha256(code)
    for item in dataclasses.fields(inputs):
        if item.name not in ("clusters", "templates", "overrides", "warnings"):
            base.update(item.name.encode() + b"\0" + fingerprint(getattr(inputs, item.name)))
    return base.digest()


def input_digests(inputs: Inputs, plans: Sequence[ClusterPlan]) -> dict[str, str]:
    """Each cluster's inputs' digest as the marker records it: independent of machine and fanout's code.

    The render cache's state is keyed by ``code_digest`` as a whole, so it can use these too.
    """
    return cluster_digests(inputs, plans, PORTABLE_SCHEME)


def cluster_digests(
    inputs: Inputs, plans: Sequence[ClusterPlan], code: bytes | None = None
) -> dict[str, str]:
    """For each planned cluster, a digest of everything that determines its files."""
    part = Fingerprints()
    digests: dict[str, str] = {}
    prefix = settings_prefix(inputs, code if code is not None else code_digest())
    # A job's bytes (its template's fingerprint, how many patches, theirs), once per job: clusters with
    # the same patches for a template share its Job (``render.place``), 100,000 jobs in 1,000 clusters.
    of_job: dict[int, bytes] = {}
    for cluster_plan in plans:
        parts = [prefix, part(cluster_plan.cluster)]
        for job in cluster_plan.jobs:
            found = of_job.get(id(job))
            if found is None:
                found = of_job[id(job)] = job_bytes(job, part)
            parts.append(found)
        digests[cluster_plan.cluster.name] = hashlib.sha256(b"".join(parts)).hexdigest()
    return digests


# --- object keys --------------------------------------------------------------------------------


# The bytes of an object key: a SHA-256 cut to 16 bytes (two different objects of one file share a key
# with odds of 2^-128), 100,000 of them in the state.
KEY_BYTES = 16


class ObjectKeys:
    """An object's key: a digest of the settings, its job (template and patches, fingerprinted whole as
    the cluster digests fingerprint them) and the cluster values it reads, as the render memo's key
    (``fanout.render.pipeline.Renderer``) has them. An object's file is a function of these alone."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.of_job: dict[int, tuple[Job, bytes]] = {}  # id(job) -> (the job, kept alive; its digest)
        self.parts = Fingerprints()  # many jobs share a template

    def key(self, job: Job, tokens: tuple[tuple[str, str], ...]) -> bytes:
        found = self.of_job.get(id(job))
        if found is None:
            digest_of_job = hashlib.sha256(self.prefix + job_bytes(job, self.parts)).digest()
            found = self.of_job[id(job)] = (job, digest_of_job)
        digest = hashlib.sha256(found[1])
        for ref, value in tokens:
            digest.update(f"{len(ref)}:{ref}{len(value)}:{value}".encode("utf-8", "surrogatepass"))
        return digest.digest()[:KEY_BYTES]


class Reuse(ObjectKeys):
    """Object keys, and what the state says the file of an object with a given key holds."""

    def __init__(self, prefix: bytes, clusters: Mapping[str, ClusterRecord]) -> None:
        super().__init__(prefix)
        self.clusters = clusters  # the state's records of the clusters to render

    def __getstate__(self) -> dict[str, Any]:
        # Sent to a spawned worker: the memo is by id(), which names other objects in another process.
        return {"prefix": self.prefix, "of_job": {}, "parts": Fingerprints(), "clusters": self.clusters}

    def known(self, cluster: str, path: str, key: bytes) -> str | None:
        """The content digest of ``path`` in ``cluster``'s folder, when fanout last wrote there an object
        with this ``key``; else None."""
        record = self.clusters.get(cluster)
        if record is None or record.keys.get(path) != key:
            return None
        file = record.files.get(path)
        return content_digest(file) if file is not None else None


# --- the state file ------------------------------------------------------------------------------


# What fanout wrote into one file: (size, mtime_ns, ctime_ns, inode, SHA-256 of the content in hex).
# The ctime changes with every write and cannot be set back, unlike the mtime. A plain tuple, because
# there are 100,000 of them to load and save on every render.
FileRecord = tuple[int, int, int, int, str]


# What proves a file unchanged without reading it: a ``FileRecord`` without its digest.
StatFields = tuple[int, int, int, int]


def stat_fields(stat: os.stat_result) -> StatFields:
    """Size, mtime, ctime and inode (the first four fields of a ``FileRecord``)."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def file_record(stat: os.stat_result, digest: str) -> FileRecord:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, digest)


def content_digest(record: FileRecord) -> str:
    return record[4]


NO_KEYS: Mapping[str, bytes] = MappingProxyType({})

# The bytes of a content digest in a packed record (SHA-256).
_DIGEST_BYTES = 32


class _Positions:
    """A packed record's paths and, made at the first lookup, each one's position."""

    __slots__ = ("_where", "paths")

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self._where: dict[str, int] | None = None

    def position(self, path: object) -> int | None:
        where = self._where
        if where is None:
            where = self._where = {p: at for at, p in enumerate(self.paths)}
        return where.get(path) if isinstance(path, str) else None


class PackedFiles(_Positions, Mapping[str, FileRecord]):
    """A cluster's file records in three flat buffers: the paths, the stat fields as 64-bit integers (four a
    file) and the SHA-256 digests as bytes. At 100 files a cluster and 100,000 clusters a fleet, a dict of
    tuples cost about 360 bytes a file in the fanout process (the largest part of a re-render's peak); this
    costs 72. Records come out as ``FileRecord`` tuples, made when asked."""

    __slots__ = ("digests", "stats")

    def __init__(self, paths: tuple[str, ...], stats: array[int], digests: bytes) -> None:
        super().__init__(paths)
        self.stats = stats
        self.digests = digests

    @staticmethod
    def of(files: Mapping[str, FileRecord]) -> Mapping[str, FileRecord]:
        """``files`` packed, or as they are where they do not fit: a digest that is not SHA-256 in lowercase
        hex, a stat field beyond a signed 64-bit integer (an inode number some network file systems give)."""
        if isinstance(files, PackedFiles):
            return files
        records = list(files.values())
        try:
            stats = array("q", [number for record in records for number in record[:4]])
            joined = "".join([record[4] for record in records])
            digests = bytes.fromhex(joined)
        except (ValueError, OverflowError, TypeError):
            return files
        # (The round trip refuses what ``fromhex`` would change: capitals, spaces.)
        if len(digests) != _DIGEST_BYTES * len(records) or digests.hex() != joined:
            return files
        return PackedFiles(tuple(files), stats, digests)

    def _record(self, at: int) -> FileRecord:
        stats, base = self.stats, 4 * at
        digest = self.digests[_DIGEST_BYTES * at : _DIGEST_BYTES * (at + 1)].hex()
        return (stats[base], stats[base + 1], stats[base + 2], stats[base + 3], digest)

    def _records(self) -> Iterator[FileRecord]:
        return map(self._record, range(len(self.paths)))

    def __getitem__(self, path: str) -> FileRecord:
        at = self.position(path)
        if at is None:
            raise KeyError(path)
        return self._record(at)

    def __contains__(self, path: object) -> bool:
        return self.position(path) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def items(self) -> ItemsView[str, FileRecord]:
        return _PackedItems(self)

    def values(self) -> ValuesView[FileRecord]:
        return _PackedValues(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedFiles):
            return self.paths == other.paths and self.stats == other.stats and self.digests == other.digests
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # a mapping, as dict

    def __repr__(self) -> str:
        return f"PackedFiles({dict(self.items())!r})"


class _PackedItems(ItemsView[str, FileRecord]):
    _mapping: PackedFiles

    def __iter__(self) -> Iterator[tuple[str, FileRecord]]:
        return zip(self._mapping.paths, self._mapping._records(), strict=True)


class _PackedValues(ValuesView[FileRecord]):
    _mapping: PackedFiles

    def __iter__(self) -> Iterator[FileRecord]:
        return self._mapping._records()


class PackedKeys(_Positions, Mapping[str, bytes]):
    """A cluster's object keys (``KEY_BYTES`` each) in one buffer, beside their paths: 24 bytes a file
    where a dict of bytes costs about 110."""

    __slots__ = ("blob",)

    def __init__(self, paths: tuple[str, ...], blob: bytes) -> None:
        super().__init__(paths)
        self.blob = blob

    @staticmethod
    def of(keys: Mapping[str, bytes]) -> Mapping[str, bytes]:
        """``keys`` packed, or as they are when one is not ``KEY_BYTES`` long."""
        if isinstance(keys, PackedKeys) or not keys:
            return keys
        if any(type(key) is not bytes or len(key) != KEY_BYTES for key in keys.values()):
            return keys
        return PackedKeys(tuple(keys), b"".join(keys.values()))

    def __getitem__(self, path: str) -> bytes:
        at = self.position(path)
        if at is None:
            raise KeyError(path)
        return self.blob[at * KEY_BYTES : (at + 1) * KEY_BYTES]

    def __contains__(self, path: object) -> bool:
        return self.position(path) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedKeys):
            return self.paths == other.paths and self.blob == other.blob
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class ClusterRecord:
    inputs: str  # the cluster digest it was rendered from
    files: Mapping[str, FileRecord]  # path relative to the cluster folder -> what fanout wrote there
    # path -> the key (``ObjectKeys``) of the object whose rendering the file's content digest is
    keys: Mapping[str, bytes] = field(default_factory=lambda: NO_KEYS)

    def __post_init__(self) -> None:
        # Packed whatever made them: a render holds every file's record (the state it loaded, the new one).
        object.__setattr__(self, "files", PackedFiles.of(self.files))
        object.__setattr__(self, "keys", PackedKeys.of(self.keys))

    @property
    def objects(self) -> int:
        return len(self.files) - 1  # every file but the kustomization


@dataclass(frozen=True)
class State:
    clusters: Mapping[str, ClusterRecord]
    saved_ns: int  # the state file's mtime: when it was written, on the file system's own clock
    # SHA-256 (hex) of the marker that lists exactly these clusters' files, with these digests, when the
    # state was saved by a render of every cluster; "" otherwise. It lets a no-op run prove the folder
    # intact without parsing the marker (``fanout.output.sync.intact_by_state``).
    marker: str = ""

    def trusted(self, record: FileRecord, stat: os.stat_result) -> bool:
        """True when ``stat`` proves the file unchanged since fanout wrote ``record``.

        ``fanout.output.verify.verified`` repeats this rule inline (it runs 100,000 times a no-op run):
        change both together.
        """
        return (
            record[0] == stat.st_size
            and record[1] == stat.st_mtime_ns
            and record[2] == stat.st_ctime_ns
            and record[3] == stat.st_ino
            and record[2] < self.saved_ns - RACY_NS
        )


EMPTY = State({}, 0)


def cache_dir(explicit: Path | None = None) -> Path:
    """``--cache-dir``, else ``$FANOUT_CACHE_DIR``, else fanout's cache folder (beside the git clones)."""
    if explicit is not None:
        return explicit
    variable = os.environ.get("FANOUT_CACHE_DIR")
    if variable:
        return Path(variable)
    from fanout.source.git import default_cache_dir

    return default_cache_dir()


def state_path(out: Path, folder: Path | None = None) -> Path:
    """The state file of output folder ``out``, in ``cache_dir(folder)/render/``."""
    key = hashlib.sha256(str(out.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir(folder) / "render" / f"{key}.state"


def input_memo_path(source: str, folder: Path | None = None) -> Path:
    """The input memo (``fanout.source.memo``) of a source (a folder, by its full path, or a URL)."""
    where = str(Path(source).resolve()) if Path(source).is_dir() else source
    key = hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir(folder) / "render" / f"{key}.inputs"


def load_state(out: Path, code: bytes, folder: Path | None = None) -> State:
    """The state saved by the same fanout (``code``, see ``code_digest``) for ``out``, or EMPTY."""
    sealed = read_sealed(state_path(out, folder), _MAGIC)
    if sealed is None:
        return EMPTY
    payload, saved_ns = sealed
    try:
        records = _records(payload)
        stored_code, where, marker, count = marshal.loads(next(records))
        if stored_code != code or where != str(out.resolve()) or not isinstance(marker, str):
            return EMPTY
        clusters = {}
        for part in records:
            for name, inputs, files, keys in marshal.loads(part):
                clusters[name] = ClusterRecord(inputs, _unframed_files(files), _unframed_keys(keys))
        if len(clusters) != count:
            return EMPTY
    except (ValueError, EOFError, TypeError, IndexError, KeyError, StopIteration):
        return EMPTY
    return State(clusters, saved_ns, marker)


# The state's payload is a sequence of marshal records, each after its length: a header, then the clusters
# in groups. A group shares its repeated strings (paths, digests) within itself, as one record for the whole
# state would, without marshal's table of every object of the state (the peak of a render's end).
_LENGTH = 8
_GROUP = 64


# A cluster's files in the state: packed (``PackedFiles``) as (paths, stats as bytes, digests), or, for the
# records that do not pack, a dict; its keys as (paths, blob) or a dict.
def _framed_files(files: Mapping[str, FileRecord]) -> object:
    if isinstance(files, PackedFiles):
        return (files.paths, files.stats.tobytes(), files.digests)
    return files if type(files) is dict else dict(files.items())


def _unframed_files(stored: Any) -> Mapping[str, FileRecord]:
    if isinstance(stored, dict):
        return stored  # a dict of records that do not pack
    # Anything but a triple of a tuple and two bytes: a damaged state, read as none.
    paths, numbers, digests = stored
    if type(paths) is not tuple or type(numbers) is not bytes or type(digests) is not bytes:
        raise TypeError("not a packed record")
    stats = array("q")
    stats.frombytes(numbers)
    if len(stats) != 4 * len(paths) or len(digests) != _DIGEST_BYTES * len(paths):
        raise ValueError("a packed record does not add up")
    return PackedFiles(paths, stats, digests)


def _framed_keys(keys: Mapping[str, bytes]) -> object:
    if isinstance(keys, PackedKeys):
        return (keys.paths, keys.blob)
    return keys if type(keys) is dict else dict(keys.items())


def _unframed_keys(stored: Any) -> Mapping[str, bytes]:
    if isinstance(stored, dict):
        return stored
    paths, blob = stored
    if type(paths) is not tuple or type(blob) is not bytes:
        raise TypeError("not packed keys")
    if len(blob) != KEY_BYTES * len(paths):
        raise ValueError("packed keys do not add up")
    return PackedKeys(paths, blob)


def _framed(record: bytes) -> bytes:
    return len(record).to_bytes(_LENGTH, "big") + record


def _records(payload: memoryview) -> Iterator[memoryview]:
    """The records ``_framed`` wrote, as views of ``payload`` (no copies); ValueError if it is cut short."""
    at = 0
    while at < len(payload):
        size = int.from_bytes(payload[at : at + _LENGTH], "big")
        at += _LENGTH
        if at + size > len(payload):
            raise ValueError("a record is cut short")
        yield payload[at : at + size]
        at += size


def save_state(
    out: Path,
    code: bytes,
    clusters: Mapping[str, ClusterRecord],
    folder: Path | None = None,
    marker: str = "",
) -> None:
    """Write the state atomically; a cache that cannot be written only costs speed next time.

    ``marker``: the SHA-256 of the marker that lists exactly ``clusters``' files (see ``State.marker``).
    """
    path = state_path(out, folder)

    # A header, then a marshal record per group of clusters, each made and written in turn: one record of
    # the whole state made marshal keep a table of every object in it (the peak at a render's end).
    def group(names: Sequence[str]) -> bytes:
        entries = []
        for name in names:
            record = clusters[name]
            files, keys = record.files, record.keys
            entries.append((name, record.inputs, _framed_files(files), _framed_keys(keys)))
        return _framed(marshal.dumps(entries))

    ordered = sorted(clusters)
    parts = itertools.chain(
        [_framed(marshal.dumps((code, str(out.resolve()), marker, len(clusters))))],
        (group(ordered[at : at + _GROUP]) for at in range(0, len(ordered), _GROUP)),
    )
    write_sealed_parts(path, _MAGIC, parts)


def forget_state(out: Path, folder: Path | None = None) -> None:
    state_path(out, folder).unlink(missing_ok=True)

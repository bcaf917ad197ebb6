"""Many files as one input: directories, globs, hive partitions, object storage.

:func:`discover` turns what the user gave — a file, a directory, a quoted glob
(``'preds/**/*.parquet'``), or a URI that pyarrow's filesystems support (``s3://bucket/preds/``,
``gs://...``) — into a :class:`Dataset`: its data files in sorted path order, each with its
path relative to the input root (the row identity and the pairing key) and its hive
partition keys (``date=2026-11-01/part-0.parquet`` → ``{"date": "2026-11-01"}``, read as
strings). :func:`pair` pairs a targets dataset with a predictions dataset file by file.

Object storage goes through pyarrow itself. S3 is configured explicitly (never by a region
look-up that hangs): ``--storage-option KEY=VALUE`` (endpoint_override, region, anonymous,
access_key, secret_key, session_token, scheme, connect_timeout, request_timeout, role_arn,
force_virtual_addressing), else the AWS environment (``AWS_ENDPOINT_URL[_S3]``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, credentials), with connect/request timeouts of
:data:`CONNECT_TIMEOUT`/:data:`REQUEST_TIMEOUT` seconds and at most two attempts, so that a
missing bucket, a denied request or missing credentials is one line naming the URI, not a
hang. Credentials never appear in messages or reports (:func:`redact`).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.io.detect import detect_format
from losscli.io.paths import (
    FILE,
    FOLDER,
    MISSING,
    PATTERN,
    glob_match,
    local_files,
    resolve_local,
    resolve_remote,
    static_prefix,
)
from losscli.vocab import INPUT_FORMATS

CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 30.0

#: S3 options accepted by --storage-option, and their types.
S3_OPTIONS: dict[str, type] = {
    "endpoint_override": str, "region": str, "anonymous": bool, "access_key": str,
    "secret_key": str, "session_token": str, "scheme": str, "connect_timeout": float,
    "request_timeout": float, "role_arn": str, "force_virtual_addressing": bool,
}
SECRET_OPTIONS = ("secret_key", "session_token", "access_key")

_URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def scheme_of(text: str) -> str | None:
    """The URI scheme (``s3``, ``gs``...), or None for a local path (``file://`` is local)."""
    m = _URI.match(text)
    if m is None or m.group(1).lower() == "file":
        return None
    return m.group(1).lower()


def is_dataset_spec(text: str) -> bool:
    """Whether ``text`` names more than one plain local file could: a URI, a folder, or a
    pattern — a path that does not exist and holds glob characters
    (:func:`losscli.io.paths.resolve_local`: an existing ``x[ab].csv`` is one file)."""
    if text == "-":
        return False
    return (scheme_of(text) is not None or text.startswith("file://")
            or resolve_local(text).kind in (FOLDER, PATTERN))


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` without credentials: a URI's ``user:password@``, secret query parameters,
    and the given secret values."""
    out = re.sub(r"(://)[^/@\s]*@", r"\1", text)
    out = re.sub(r"((?:secret_key|session_token|access_key|password|token)=)[^&\s'\"]*",
                 r"\1***", out, flags=re.IGNORECASE)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out


def environment_secrets() -> tuple[str, ...]:
    """Credentials set in the environment (AWS keys and tokens): never shown."""
    names = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID",
             "GOOGLE_APPLICATION_CREDENTIALS_JSON", "AZURE_STORAGE_KEY")
    return tuple(v for n in names if len(v := os.environ.get(n, "")) >= 4)


def parse_storage_options(items: list[str] | tuple[str, ...] | dict[str, Any] | None
                          ) -> dict[str, Any]:
    """``["endpoint_override=localhost:9000", "anonymous=true"]`` (or a dict) → typed
    options; an unknown key or a bad value is a UsageError listing the keys."""
    if not items:
        return {}
    pairs = list(items.items()) if isinstance(items, dict) else []
    if not isinstance(items, dict):
        for item in items:
            key, eq, value = str(item).partition("=")
            if not eq or not key.strip():
                raise UsageError(f"--storage-option '{redact(str(item))}': write it as KEY=VALUE, "
                                 "e.g. --storage-option endpoint_override=localhost:9000.")
            pairs.append((key.strip(), value.strip()))
    out: dict[str, Any] = {}
    for key, value in pairs:
        kind = S3_OPTIONS.get(key)
        if kind is None:
            from losscli.errors import did_you_mean

            raise UsageError(
                f"Unknown --storage-option '{key}'.{did_you_mean(key, list(S3_OPTIONS))} Keys: "
                f"{', '.join(S3_OPTIONS)}.")
        if kind is bool:
            text = str(value).lower()
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise UsageError(f"--storage-option {key} takes true or false, got {value!r}.")
            out[key] = text in ("true", "1", "yes")
        elif kind is float:
            try:
                out[key] = float(value)
            except ValueError:
                raise UsageError(f"--storage-option {key} takes seconds, got {value!r}.") from None
        else:
            out[key] = str(value)
    return out


def _s3(options: dict[str, Any]) -> Any:
    import pyarrow.fs as pafs

    kwargs = dict(options)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if "endpoint_override" not in kwargs and endpoint:
        m = _URI.match(endpoint)
        if m:
            kwargs.setdefault("scheme", m.group(1).lower())
            kwargs["endpoint_override"] = endpoint[m.end():].rstrip("/")
        else:
            kwargs["endpoint_override"] = endpoint
    kwargs.setdefault("region", os.environ.get("AWS_REGION")
                      or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
    kwargs.setdefault("request_timeout", REQUEST_TIMEOUT)
    kwargs.setdefault("retry_strategy", pafs.AwsStandardS3RetryStrategy(max_attempts=2))
    return pafs.S3FileSystem(**kwargs)


def filesystem(uri: str, options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """(pyarrow FileSystem, path within it) for a URI. ``options`` apply to S3."""
    import pyarrow.fs as pafs

    scheme = scheme_of(uri)
    options = options or {}
    try:
        if scheme == "s3":
            rest = uri[len("s3://"):]
            rest = re.sub(r"^[^/@]*@", "", rest)  # credentials in the URI: not used, not shown
            return _s3(options), without_query(rest)
        if options:
            raise UsageError(f"--storage-option applies to s3:// URIs; '{redact(uri)}' is "
                             f"{scheme}://. Configure that filesystem through its environment.")
        fs, path = pafs.FileSystem.from_uri(uri)
        return fs, path
    except (UsageError, InputError):
        raise
    except Exception as exc:
        raise storage_error(exc, uri, options) from None


def storage_error(exc: Exception, uri: str, options: dict[str, Any] | None = None) -> InputError:
    """One line for a failed object-storage request: what happened, where, what to set."""
    secrets = (*(str(v) for k, v in (options or {}).items() if k in SECRET_OPTIONS),
               *environment_secrets())
    text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                  secrets).rstrip(".")
    where = redact(uri, secrets)
    upper = text.upper()
    if "ACCESS_DENIED" in upper or "ACCESSDENIED" in upper or "FORBIDDEN" in upper or "403" in text:
        fix = "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --storage-option)"
    elif "NO_SUCH_BUCKET" in upper or "NOSUCHBUCKET" in upper:
        fix = "check the bucket name"
    elif "CREDENTIAL" in upper:
        fix = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --storage-option "
               "anonymous=true for a public bucket")
    elif "NETWORK" in upper or "CONNECT" in upper or "RESOLVE" in upper or "TIMEOUT" in upper:
        fix = ("check the endpoint and the network (AWS_ENDPOINT_URL or --storage-option "
               "endpoint_override=HOST:PORT)")
    else:
        fix = "check the URI and the storage options"
    return InputError(f"Cannot read '{where}': {text}. {fix[0].upper()}{fix[1:]}.")


@dataclass(frozen=True)
class FileRef:
    """One data file of a dataset. ``display`` is what messages show (credentials removed),
    ``relative`` its path relative to the input root (posix separators), ``partition`` its
    hive keys, ``fs``/``path`` where pyarrow reads it (``fs`` None: a local path)."""

    display: str
    relative: str
    path: str
    fs: Any = None
    partition: tuple[tuple[str, str], ...] = ()
    size: int | None = None

    @property
    def format(self) -> str | None:
        return detect_format(self.relative)

    def open_input_file(self) -> Any:
        """A random-access pyarrow file (Parquet, Feather, NPY)."""
        import pyarrow as pa

        try:
            return pa.OSFile(self.path) if self.fs is None else self.fs.open_input_file(self.path)
        except Exception as exc:
            raise storage_error(exc, self.display) from None

    def open_input_stream(self) -> Any:
        """A sequential pyarrow stream (CSV, NDJSON; compressed ones undone by the caller)."""
        import pyarrow as pa

        try:
            # compression=None: the bytes as stored; the readers tell a compressed file by
            # its first bytes (pyarrow would guess from the name and hide it from them)
            return (pa.OSFile(self.path) if self.fs is None
                    else self.fs.open_input_stream(self.path, compression=None))
        except Exception as exc:
            raise storage_error(exc, self.display) from None


@dataclass
class Dataset:
    """Data files in sorted order of their relative paths (see the module doc). ``single``:
    the spec named one file (a URI of one object), not a folder or a glob; ``pattern``: the
    spec was a pattern (a path that does not exist, holding glob characters)."""

    display: str
    files: list[FileRef]
    partition_keys: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    single: bool = False
    pattern: bool = False  # named by a glob pattern (losscli.io.paths), not a file or folder

    @property
    def remote(self) -> bool:
        """Whether its files are in object storage (not on a local filesystem)."""
        return any(f.fs is not None for f in self.files)

    @property
    def format(self) -> str | None:
        return self.files[0].format if self.files else None


def file_identity(path: str, relative: str) -> str:
    """The relative path a file's rows are known by (its row identity and coverage):
    ``relative`` (its path under the input's root) under the ``key=value`` folders directly
    above that root — so a part of a hive dataset evaluated alone, as a file
    (``.../date=2026-11-01/part-0.parquet``) or as its partition's folder
    (``.../date=2026-11-01/``), is known exactly as in a run over the whole dataset
    (``date=2026-11-01/part-0.parquet``)."""
    norm = path.replace("\\", "/")
    root = norm[:len(norm) - len(relative)] if norm.endswith(relative) else ""
    kept: list[str] = []
    for part in reversed(root.rstrip("/").split("/")):
        if "=" not in part or part.startswith("="):
            break
        kept.append(part)
    return "/".join([*reversed(kept), relative])


def single_file_identity(path: str) -> str:
    """:func:`file_identity` of a lone file: its name under the ``key=value`` folders
    directly above it."""
    name = path.replace("\\", "/").rstrip("/").split("/")[-1]
    return file_identity(path.rstrip("/\\"), name)


def _hidden(relative: str) -> bool:
    """Spark/Hive/Hadoop bookkeeping files and folders: ``_SUCCESS``, ``_metadata``,
    ``.crc`` files, hidden folders."""
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _partition(relative: str) -> tuple[tuple[str, str], ...]:
    keys = []
    for part in relative.split("/")[:-1]:
        key, eq, value = part.partition("=")
        if eq and key:
            from urllib.parse import unquote

            keys.append((key, unquote(value)))
    return tuple(keys)


def _data_file(relative: str, format_in: str | None) -> bool:
    return not _hidden(relative) and (format_in is not None or detect_format(relative) is not None)


def discover(spec: str, *, partitioning: str | None = None,
             storage_options: dict[str, Any] | None = None,
             format_in: str | None = None) -> Dataset:
    """The data files ``spec`` names (see the module doc). ``partitioning``: ``hive``
    (required: every file under key=value folders), ``none``, or None (hive when every file
    has the same key=value folders). A spec that names no data file is an InputError."""
    if partitioning not in (None, "hive", "none"):
        raise UsageError(f"--partitioning must be hive or none, got {partitioning!r}.")
    options = dict(storage_options or {})
    scheme = scheme_of(spec)
    if scheme is None:
        kind, files = _local_files(spec, format_in)
    else:
        kind, files = _remote_files(spec, options, format_in)
    display = redact(spec, tuple(str(v) for k, v in options.items() if k in SECRET_OPTIONS))
    if not files and kind == PATTERN:
        raise InputError(f"No file matches '{redact(spec)}': no file has this name, and as a "
                         "pattern (* ? [...]) it matches no data file. Check the path; a name "
                         "holding * ? [ is read as it is when the file exists.")
    if not files:
        looked = ", ".join(f".{f}" for f in INPUT_FORMATS if f not in ("arrow", "tsv"))
        raise InputError(f"No data files in '{display}' (looked for {looked}, compressed "
                         "text too; names starting with '.' or '_' are skipped). Check the path, "
                         "or give --format-in for files without an extension.")
    files.sort(key=lambda f: f.relative)
    formats = {f.format for f in files} if format_in is None else {format_in}
    if len(formats) > 1:
        first = files[0].format
        other = next(f for f in files if f.format != first)
        raise InputError(f"'{display}' mixes formats: '{files[0].display}' is {first} but "
                         f"'{other.display}' is {other.format}; give files of one format.")
    keys: tuple[str, ...] = ()
    if partitioning != "none":
        parts = [tuple(k for k, _ in f.partition) for f in files]
        if partitioning == "hive" or (parts[0] and len(set(parts)) == 1):
            keys = parts[0]
            for f, p in zip(files, parts):
                if p != keys:
                    raise InputError(
                        f"'{f.display}' has the partition keys {list(p) or 'none'} but "
                        f"'{files[0].display}' has {list(keys) or 'none'}: every file of a "
                        "hive-partitioned dataset sits under the same key=value folders. "
                        "Use --partitioning none to ignore the folders.")
    if not keys:
        files = [FileRef(f.display, f.relative, f.path, f.fs, (), f.size) for f in files]
    single = len(files) == 1 and kind in (FILE, MISSING)
    return Dataset(display, files, keys, options, single, pattern=kind == PATTERN)


_QUERY = re.compile(r"\?[A-Za-z_][A-Za-z0-9_.-]*=[^/]*$")


def without_query(rest: str) -> str:
    """A URI's path without a query string (``?region=eu-west-1&...``: ignored). A ``?``
    not followed by ``key=value`` pairs up to the end is part of the key (``x?.parquet``,
    a name or a pattern: :mod:`losscli.io.paths`)."""
    m = _QUERY.search(rest)
    return rest[:m.start()] if m else rest


def filesystem_path(uri: str) -> str:
    """The path within its filesystem that a URI names (no credentials, no query)."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    return without_query(re.sub(r"^[^/@]*@", "", rest)).rstrip("/")


def _local_files(spec: str, format_in: str | None) -> tuple[str, list[FileRef]]:
    """What the local ``spec`` names (:func:`losscli.io.paths.local_files`: an existing
    path is literal) and its data files. A folder keeps its data files; a pattern the files
    it matches (not hidden ones); a file — or a missing path, reported when opened — is
    itself."""
    found, entries = local_files(spec)
    if found.kind in (FILE, MISSING):
        return found.kind, [_local_ref(found.path, os.path.basename(found.path))]
    keep = _data_file if found.kind == FOLDER else (
        lambda relative, _fmt: not _hidden(relative))
    return found.kind, [_local_ref(full, rel) for full, rel in entries if keep(rel, format_in)]


def _local_ref(full: str, relative: str) -> FileRef:
    try:
        size: int | None = os.path.getsize(full)
    except OSError:
        size = None
    return FileRef(full, relative, full, None, _partition(relative), size)


def _remote_files(spec: str, options: dict[str, Any], format_in: str | None
                  ) -> tuple[str, list[FileRef]]:
    """What an object-storage ``spec`` names and its data files: an existing object (its
    key may hold ``[``) is one file, an existing prefix a folder; only a missing path with
    glob characters is a pattern, matched under its static prefix."""
    import pyarrow.fs as pafs

    fs, path = filesystem(spec, options)
    scheme = scheme_of(spec) or ""
    try:
        found = resolve_remote(path, fs.get_file_info)
        if found.kind == MISSING:
            raise InputError(f"Not found: '{redact(spec)}'. Check the bucket and the path.")
        if found.kind == FILE:
            root = path.rstrip("/")
            info = fs.get_file_info(root)
            return FILE, [FileRef(f"{scheme}://{root}", posixpath.basename(root), root, fs, (),
                                  info.size)]
        if found.kind == PATTERN:
            root = static_prefix(path, lambda p: fs.get_file_info(p).type
                                 == pafs.FileType.Directory).rstrip("/")
            pattern: str | None = path[len(root):].lstrip("/")
            if not root or fs.get_file_info(root).type != pafs.FileType.Directory:
                return PATTERN, []
        else:
            root, pattern = path.rstrip("/"), None
        listing = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    except (InputError, UsageError):
        raise
    except Exception as exc:
        raise storage_error(exc, spec, options) from None
    out = []
    for entry in listing:
        if entry.type != pafs.FileType.File:
            continue
        relative = entry.path[len(root):].lstrip("/")
        keep = (glob_match(relative, pattern) and not _hidden(relative)) if pattern else (
            _data_file(relative, format_in))
        if keep:
            out.append(FileRef(f"{scheme}://{entry.path}", relative, entry.path, fs,
                               _partition(relative), entry.size))
    return found.kind, out


def pair(predictions: Dataset, targets: Dataset, noun: str = "targets"
         ) -> list[tuple[FileRef, FileRef]]:
    """Predictions and targets (or weights, another model: ``noun``) file by file, by
    relative path (the extension may differ: ``part-0.parquet`` pairs with ``part-0.csv``).
    Files that do not pair up are an error naming the first of them."""
    def key(f: FileRef) -> str:
        name = f.relative
        for suffix in (".gz", ".bz2", ".zst", ".lz4"):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        return posixpath.splitext(name)[0]

    by_key = {key(f): f for f in targets.files}
    out = []
    for f in predictions.files:
        match = by_key.pop(key(f), None)
        if match is None:
            raise InputError(
                f"'{f.display}' has no {noun} file in '{targets.display}' (looked for "
                f"'{key(f)}.*'): a {noun} folder pairs with the predictions file by file, by "
                "relative path.")
        out.append((f, match))
    if by_key:
        extra = sorted(by_key.values(), key=lambda f: f.relative)[0]
        raise InputError(f"'{extra.display}' has no predictions file in '{predictions.display}': "
                         f"a {noun} folder pairs with the predictions file by file, by relative "
                         "path.")
    return out

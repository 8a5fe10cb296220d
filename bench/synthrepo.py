"""Generate a synthetic rpm-md repo (primary + filelists + repomd) of N packages, no RPM files.

Realistic shape: a closed core of 300 packages (the baseline), soname provides, 0-8 requires per package (mostly sonames, some package names,
some file paths), ~30 files per package, a few obsoletes. Deterministic for a given seed.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import time
from pathlib import Path
from xml.sax.saxutils import escape

CORE = 300  # packages 0..299 model a minimal OS install
NS = 'xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm"'


def _entry(kind: str, deps: list[tuple[str, str]]) -> str:
    if not deps:
        return ""
    items = "".join(f'<rpm:entry name="{escape(n)}"' + (f' flags="GE" epoch="0" ver="{v}"' if v else "") + "/>"
                    for n, v in deps)
    return f"<rpm:{kind}>{items}</rpm:{kind}>"


def generate(out: Path, count: int = 10_000, files_per_pkg: int = 30, seed: int = 7) -> Path:
    rnd = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "repodata").mkdir(exist_ok=True)
    primary, filelists = [], []
    for i in range(count):
        name = f"pkg{i:05d}"
        pkgid = hashlib.sha256(name.encode()).hexdigest()
        provides = [(f"lib{name}.so.1()(64bit)", ""), (name, "")]
        requires: list[tuple[str, str]] = []
        if i > 0:
            for _ in range(rnd.randint(0, 8)):
                if i < CORE:  # the OS core is a closed layer (a minimal install)
                    j = rnd.randrange(0, i)
                else:  # apps: mostly earlier packages, some forward references (cycles)
                    j = rnd.randrange(0, i) if rnd.random() < 0.9 else rnd.randrange(CORE, count)
                r = rnd.random()
                if r < 0.6:
                    requires.append((f"libpkg{j:05d}.so.1()(64bit)", ""))
                elif r < 0.9:
                    requires.append((f"pkg{j:05d}", "1.0"))
                else:
                    requires.append((f"/usr/bin/pkg{j:05d}-tool", ""))
        obsoletes = [(f"old-{name}", "")] if i % 97 == 0 else []
        files = [f"/usr/bin/{name}-tool"] + [f"/usr/share/{name}/file{k}" for k in range(files_per_pkg - 1)]
        primary.append(
            f'<package type="rpm"><name>{name}</name><arch>x86_64</arch>'
            f'<version epoch="0" ver="1.{i % 50}" rel="1.el9"/>'
            f'<checksum type="sha256" pkgid="YES">{pkgid}</checksum><summary>{name}</summary>'
            f'<description>synthetic</description><packager/><url/><time file="1" build="1"/>'
            f'<size package="10000" installed="20000" archive="20000"/>'
            f'<location href="Packages/{name}-1.{i % 50}-1.el9.x86_64.rpm"/>'
            f'<format><rpm:license>MIT</rpm:license><rpm:vendor/><rpm:group>x</rpm:group>'
            f'<rpm:buildhost>b</rpm:buildhost><rpm:sourcerpm>{name}.src.rpm</rpm:sourcerpm>'
            f'<rpm:header-range start="1" end="2"/>'
            f'{_entry("provides", provides)}{_entry("requires", requires)}{_entry("obsoletes", obsoletes)}'
            f'<file>/usr/bin/{name}-tool</file></format></package>')
        filelists.append(f'<package pkgid="{pkgid}" name="{name}" arch="x86_64">'
                         f'<version epoch="0" ver="1.{i % 50}" rel="1.el9"/>'
                         + "".join(f"<file>{f}</file>" for f in files) + "</package>")
    docs = {
        "primary": f'<?xml version="1.0" encoding="UTF-8"?>\n<metadata {NS} packages="{count}">'
                   + "".join(primary) + "</metadata>",
        "filelists": f'<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" '
                     f'packages="{count}">' + "".join(filelists) + "</filelists>",
    }
    entries = []
    for mdtype, text in docs.items():
        raw = text.encode()
        packed = gzip.compress(raw, 6, mtime=0)
        digest = hashlib.sha256(packed).hexdigest()
        href = f"repodata/{digest}-{mdtype}.xml.gz"
        (out / href).write_bytes(packed)
        entries.append(
            f'<data type="{mdtype}"><checksum type="sha256">{digest}</checksum>'
            f'<open-checksum type="sha256">{hashlib.sha256(raw).hexdigest()}</open-checksum>'
            f'<location href="{href}"/><timestamp>{int(time.time())}</timestamp>'
            f'<size>{len(packed)}</size><open-size>{len(raw)}</open-size></data>')
    (out / "repodata" / "repomd.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" '
        'xmlns:rpm="http://linux.duke.edu/metadata/rpm"><revision>1</revision>' + "".join(entries) + "</repomd>")
    return out

# shellcheck shell=bash
# Sourced by scripts/serve, scripts/test and scripts/ensure-postgres; not run directly.
# billfold_ensure_venv [EXTRA]: make sure $BILLFOLD_REPO/.venv exists and has the project
# installed editable (with the optional-dependency group EXTRA, e.g. "test").
# Re-installs only when pyproject.toml changed: each install writes a stamp file
# .venv/.billfold-installed-<EXTRA or base> holding the sha256 of pyproject.toml.

BILLFOLD_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BILLFOLD_VENV="$BILLFOLD_REPO/.venv"

billfold_ensure_venv() {
    local extra="${1:-}"
    local python="${PYTHON:-python3}"
    local venv="$BILLFOLD_VENV"

    # A venv whose interpreter no longer runs (e.g. Python was upgraded) is rebuilt, but only by
    # its owner: for another user it may merely be out of reach (e.g. a Python under /root).
    if [[ -d "$venv" ]] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        if [[ ! -O "$venv" ]]; then
            echo "venv: $venv/bin/python does not run for $(id -un), and $venv is not ours to rebuild" >&2
            return 1
        fi
        echo "venv: $venv is broken, recreating it" >&2
        rm -rf "$venv"
    fi
    if [[ ! -d "$venv" ]]; then
        echo "venv: creating $venv with $python" >&2
        if ! "$python" -m venv "$venv"; then
            rm -rf "$venv"
            # Debian ships venv/ensurepip separately; install it when we can (root, apt).
            if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
                local ver
                ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
                echo "venv: installing python$ver-venv with apt-get" >&2
                apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" >&2
                "$python" -m venv "$venv"
            else
                echo "venv: '$python -m venv' failed; install your distribution's python3-venv package" >&2
                return 1
            fi
        fi
    fi

    local hash stamp target
    hash=$(sha256sum "$BILLFOLD_REPO/pyproject.toml" | cut -d' ' -f1)
    stamp="$venv/.billfold-installed-${extra:-base}"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
        return 0
    fi
    target="$BILLFOLD_REPO"
    [[ -n "$extra" ]] && target="${BILLFOLD_REPO}[$extra]"
    echo "venv: installing $target (pyproject.toml changed or first run)" >&2
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -e "$target" >&2
    echo "$hash" >"$stamp"
    # Any extra group includes the base dependencies, so the base install is current too.
    echo "$hash" >"$venv/.billfold-installed-base"
}

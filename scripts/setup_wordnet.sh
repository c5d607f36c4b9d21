#!/usr/bin/env bash
# Make `from nltk.corpus import wordnet` work offline inside the project's venv.
#   bash scripts/setup_wordnet.sh [VENV]   (default .venv; idempotent)
# Route 1: nltk.download (needs a network). Route 2: Debian's wordnet-base + wordnet-sense-index,
# copied into <venv>/nltk_data (nltk searches sys.prefix/nltk_data and refuses symlinks that leave
# its root), plus the `lexnames` table Debian compiles into libwordnet instead of shipping.
set -euo pipefail
VENV=${1:-.venv}
PY="$VENV/bin/python"
DATA="$(cd "$VENV" && pwd)/nltk_data"
TARGET="$DATA/corpora/wordnet"
check() { "$PY" -c "from nltk.corpus import wordnet as wn; assert wn.synsets('sad')" >/dev/null 2>&1; }

if check; then echo "wordnet: already available"; exit 0; fi
if timeout 30 "$PY" -c "import nltk, sys; sys.exit(0 if nltk.download('wordnet', download_dir='$DATA', quiet=True, raise_on_error=False) else 1)" >/dev/null 2>&1 && check; then
  echo "wordnet: downloaded with nltk.download into $DATA"; exit 0
fi
SRC=/usr/share/wordnet
if [ ! -f "$SRC/data.noun" ] || [ ! -f "$SRC/index.sense" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends wordnet-base wordnet-sense-index >/dev/null
fi
mkdir -p "$TARGET"
for f in "$SRC"/*; do [ -f "$f" ] && cp -f "$f" "$TARGET/"; done
if [ ! -s "$TARGET/lexnames" ]; then
  # One line per lexicographer file: number<TAB>name<TAB>syntactic category (1 noun, 2 verb, 3 adj, 4 adv),
  # generated from the lexnames(5WN) man page that wordnet-base ships.
  page=$(dpkg -L wordnet-base | grep 'lexnames\.5' | head -1)
  zcat -f "$page" | awk -F'\t' '/^[0-9][0-9]\t/{n=$2; gsub(/ +$/,"",n); split(n,a,"."); c=(a[1]=="noun")?1:(a[1]=="verb")?2:(a[1]=="adj")?3:4; printf "%s\t%s\t%d\n",$1,n,c}' > "$TARGET/lexnames"
fi
check || { echo "wordnet: staging into $TARGET failed" >&2; exit 1; }
echo "wordnet: staged Debian wordnet-base into $TARGET"

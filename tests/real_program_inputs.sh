#!/usr/bin/env bash
# Writes inputs of every kind the real-program tests and benchmarks feed programs (text,
# numbers, JSON, Python and JavaScript scripts, tar, zip, xz, zstd, PNG, SQLite, a certificate,
# a PDF, a git repository) into DIR; each N gives different files of the same kinds.
# Usage: real_program_inputs.sh DIR N
set -euo pipefail
d="$1"
v="$2"
python3=/usr/bin/python3
mkdir -p "$d" && (
    cd "$d" || exit 1
    for i in $(seq 1 $((20 + v * 7))); do echo "line $((i * v * 37 % 101)) word$i"; done >text.txt
    seq $((3 + v)) $((50 + v * 13)) >nums.txt
    printf '{"name": "input%s", "values": [%s, 2, 3]}\n' "$v" "$v" >data.json
    printf 'import json, sys\nd = json.load(open(sys.argv[1]))\nprint(d["name"], sum(d["values"]))\n' >script.py
    printf 'const fs = require("fs");\nconst d = JSON.parse(fs.readFileSync(process.argv[2]));\nconsole.log(d.name, d.values.reduce((a, b) => a + b));\n' >script.js
    mkdir -p "tree/sub$v" && cp text.txt "tree/sub$v/a$v.txt" && cp nums.txt "tree/n$v.txt"
    tar -cf a.tar tree && (cd tree && zip -qr ../a.zip .)
    xz -kc text.txt >text.xz && zstd -qc nums.txt >nums.zst
    printf 'P3\n2 2\n255\n%d 0 0 0 255 0 0 0 255 255 255 255\n' $((v * 100)) >img.ppm
    /usr/bin/convert-im6.q16 img.ppm img.png
    sqlite3 db.sqlite "create table t(a,b); insert into t values($v,'row$v'),(2,'two');"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj "/CN=input$v" \
      -days 30 2>/dev/null
    "$python3" - "$v" >doc.pdf <<'PY'
import sys
text = f"Hello from input {sys.argv[1]}"
stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET"
objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
out, offsets = "%PDF-1.4\n", []
for i, o in enumerate(objs):
    offsets.append(len(out))
    out += f"{i + 1} 0 obj\n{o}\nendobj\n"
xref = len(out)
out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n"
out += "".join(f"{o:010d} 00000 n \n" for o in offsets)
out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
sys.stdout.write(out)
PY
    git init -q repo && (cd repo && echo "$v" >f && git add f &&
      GIT_COMMITTER_DATE="2026-01-0$v 00:00:00 +0000" git -c user.name=t -c user.email=t@t \
        commit -qm "input $v" --date "2026-01-0$v 00:00:00 +0000")
  )

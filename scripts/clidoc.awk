# clidoc.awk — docs/cli.md, the one source of ckbench's manual, rendered two
# ways so that they cannot drift apart:
#   awk -v mode=man -v version=0.1.0 -f scripts/clidoc.awk docs/cli.md > ckbench.1
#   awk -v mode=c -f scripts/clidoc.awk docs/cli.md > cli_doc.c
# mode=man: the manual page ckbench(1) in man(7) roff.
# mode=c:   a C table of the plain-text section of each command, for
#           `ckbench help COMMAND` (harness/cli/cmd_help.c).
# It knows the Markdown that docs/cli.md uses and no more: headings, paragraphs,
# "- " and "1. " lists with indented continuation lines, tables, code blocks
# indented by four spaces, `code`, **bold** and [links](...). A command's
# section is a "### `ckbench NAME ...`" heading and what follows it up to the
# next heading ("### `ckbench --plugin ...`" is the headline's).

function replace_all(s, from, to,    out, i) {
    out = ""
    while ((i = index(s, from)) > 0) {
        out = out substr(s, 1, i - 1) to
        s = substr(s, i + length(from))
    }
    return out s
}

# Inline Markdown: links keep their text; `code` and **bold** become bold in
# roff and plain in text. Backslashes, dashes in code and leading dots are
# escaped for roff.
function inline(s, roff,    out, t) {
    if (roff)
        s = replace_all(s, "\\", "\\e")
    while (match(s, /\[[^]]*\]\([^)]*\)/)) {
        t = substr(s, RSTART + 1, RLENGTH - 2)
        t = substr(t, 1, index(t, "](") - 1)
        s = substr(s, 1, RSTART - 1) t substr(s, RSTART + RLENGTH)
    }
    out = ""
    while (match(s, /`[^`]*`/)) {
        t = substr(s, RSTART + 1, RLENGTH - 2)
        if (roff)
            t = "\\fB" replace_all(t, "-", "\\-") "\\fR"
        out = out substr(s, 1, RSTART - 1) t
        s = substr(s, RSTART + RLENGTH)
    }
    s = out s
    while (match(s, /\*\*[^*]+\*\*/)) {
        t = substr(s, RSTART + 2, RLENGTH - 4)
        if (roff)
            t = "\\fB" t "\\fR"
        s = substr(s, 1, RSTART - 1) t substr(s, RSTART + RLENGTH)
    }
    if (roff) {
        s = replace_all(s, "—", "\\(em")
        s = replace_all(s, "·", "\\(pc")
        if (s ~ /^[.']/)
            s = "\\&" s
    }
    return s
}

function trim(s) {
    sub(/^[ \t]+/, "", s)
    sub(/[ \t]+$/, "", s)
    return s
}

# Cells of a "| a | b |" row.
function cells(line, c,    n) {
    line = trim(line)
    sub(/^\|/, "", line)
    sub(/\|$/, "", line)
    n = split(line, c, "|")
    return n
}

# The command a "### `ckbench NAME ...`" heading documents, or "".
function command_of(h,    w) {
    if (h !~ /^`ckbench /)
        return ""
    w = substr(h, length("`ckbench ") + 1)
    sub(/[ `].*/, "", w)
    return w ~ /^-/ ? "headline" : w
}

# ---- output: roff ----------------------------------------------------------
function man_begin() {
    print ".\\\" generated from docs/cli.md by scripts/clidoc.awk; do not edit"
    print ".TH CKBENCH 1 \"\" \"ckernel " version "\" \"ckernel manual\""
    print ".SH NAME"
    print "ckbench \\- check, benchmark, plan and run LLM compute kernels (the ckernel harness)"
    print ".SH SYNOPSIS"
    print ".B ckbench"
    print ".I command"
    print "[\\fIoptions\\fR]"
    print ".br"
    print ".B ckbench \\-\\-plugin"
    print ".I P"
    print ".B \\-\\-model"
    print ".I M"
    print "[\\fIbench options\\fR]"
    print ".br"
    print ".B ckbench \\-\\-version"
    print ".SH DESCRIPTION"
}

function man_out(kind, text, tag,    n, c, i, rest) {
    if (kind == "h2") {
        print ".SH " toupper(inline(text, 0))
    } else if (kind == "h3") {
        print ".SS " inline(text, 1)
    } else if (kind == "para") {
        print ".PP"
        print inline(text, 1)
    } else if (kind == "item") {
        print ".IP " (tag == "-" ? "\\(bu 2" : tag " 4")
        print inline(text, 1)
    } else if (kind == "code_begin") {
        print ".PP"
        print ".RS 4"
        print ".nf"
    } else if (kind == "code") {
        print inline("`" text "`", 1)
    } else if (kind == "code_end") {
        print ".fi"
        print ".RE"
    } else if (kind == "row") {
        n = cells(text, c)
        print ".TP"
        print inline(trim(c[1]), 1)
        rest = ""
        for (i = 2; i <= n; i++)
            rest = rest (i > 2 ? "; " : "") trim(c[i])
        print inline(rest, 1)
    }
}

# ---- output: plain text sections as a C table ---------------------------------
function c_string(s) {
    s = replace_all(s, "\\", "\\\\")
    s = replace_all(s, "\"", "\\\"")
    s = replace_all(s, "?", "\\?")
    return "\"" s "\\n\""
}

function c_emit(s) {
    if (section != "")
        print "     " c_string(s)
}

# Words of s filled to 78 columns, the first line after `first`, the rest
# after `rest` (a list item's hanging indent).
function c_fill(s, first, rest,    n, w, i, line) {
    n = split(s, w, " ")
    line = first
    for (i = 1; i <= n; i++) {
        if (line != first && line != rest && length(line) + 1 + length(w[i]) > 78) {
            c_emit(line)
            line = rest
        }
        line = line (line == first || line == rest ? "" : " ") w[i]
    }
    c_emit(line)
}

function c_out(kind, text, tag,    n, c, i, row) {
    if (kind == "h2" || kind == "h3") {
        if (section != "")
            print "    },"
        section = kind == "h3" ? command_of(text) : ""
        if (section != "") {
            print "    {\"" section "\","
            c_emit(inline(text, 0))
        }
    } else if (kind == "para") {
        c_emit("")
        c_fill(inline(text, 0), "", "")
    } else if (kind == "item") {
        if (!list_started)
            c_emit("")
        c_fill(inline(text, 0), tag " ", sprintf("%" (length(tag) + 1) "s", ""))
    } else if (kind == "code_begin") {
        c_emit("")
    } else if (kind == "code") {
        c_emit("    " text)
    } else if (kind == "row") {
        n = cells(text, c)
        row = sprintf("  %-14s", inline(trim(c[1]), 0))
        for (i = 2; i <= n; i++)
            row = row " " inline(trim(c[i]), 0)
        c_emit(row)
    }
}

function out(kind, text, tag) {
    if (mode == "man")
        man_out(kind, text, tag)
    else
        c_out(kind, text, tag)
}

# A paragraph or list item is gathered whole, so that a `code span` or a
# [link](...) broken across source lines is still one span.
function flush() {
    if (buf_kind != "")
        out(buf_kind, buf, buf_tag)
    list_started = buf_kind == "item"
    buf_kind = ""
    buf = ""
}

function gather(kind, text, tag) {
    flush()
    buf_kind = kind
    buf = trim(text)
    buf_tag = tag
}

BEGIN {
    if (mode != "man" && mode != "c") {
        print "clidoc.awk: mode must be man or c (awk -v mode=man)" > "/dev/stderr"
        exit 2
    }
    if (mode == "man")
        man_begin()
    else {
        print "/* generated from docs/cli.md by scripts/clidoc.awk; do not edit */"
        print "#include \"cli_doc.h\""
        print "const ck_cli_doc ck_cli_docs[] = {"
    }
}

# The page's own title: the manual has NAME and SYNOPSIS instead.
NR == 1 && /^# / { next }

/^```/ {
    flush()
    in_fence = !in_fence
    out(in_fence ? "code_begin" : "code_end")
    next
}
in_fence { out("code", $0); next }

/^[ \t]*$/ {
    flush()
    if (in_code) { out("code_end"); in_code = 0 }
    list_started = 0
    in_table = 0
    blank = 1
    next
}

/^### / { flush(); out("h3", substr($0, 5)); blank = 0; next }
/^## / { flush(); out("h2", substr($0, 4)); blank = 0; next }

/^\|/ {
    flush()
    if ($0 ~ /^\|[-| :]+\|$/)
        next
    if (!in_table) {
        in_table = 1
        if (mode == "man")
            next
        out("code_begin")
    }
    out("row", $0)
    next
}

(/^    / && blank && buf_kind == "" && !list_started) || in_code {
    if (!in_code) { out("code_begin"); in_code = 1 }
    out("code", substr($0, 5))
    next
}

/^- / { gather("item", substr($0, 3), "-"); blank = 0; next }

/^[0-9]+\. / {
    tag = $0
    sub(/\. .*/, ".", tag)
    gather("item", substr($0, length(tag) + 2), tag)
    blank = 0
    next
}

{
    if (buf_kind == "")
        gather("para", $0, "")
    else
        buf = buf " " trim($0)
    blank = 0
}

END {
    flush()
    if (mode == "c") {
        if (section != "")
            print "    },"
        print "};"
        print "const unsigned long ck_cli_docs_count = sizeof ck_cli_docs / sizeof ck_cli_docs[0];"
    }
}

/* The report's charts as inline SVG (report.h), drawn by hand so the page
 * needs no script and no network:
 *   - a roofline per machine: log-log, the measured bandwidth roofs (one per
 *     memory level where the roofs have levels, else the stream triad) and the FMA peak of each ISA, each kernel a point (class
 *     "kernel-point") at its arithmetic intensity and GFLOP/s;
 *   - speedup over scalar per model: one bar (class "speedup-bar") per
 *     instance and run, grouped by op, drawn from the 1x line on a log axis.
 * Every element carries a <title>, which browsers show on hover. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Okabe-Ito: told apart by colour-blind readers too */
static const char *const palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                      "#e69f00", "#56b4e9", "#000000", "#999999"};

const char *ck_report_color(int index)
{
    return palette[(unsigned)index % (sizeof palette / sizeof palette[0])];
}

/* ---- log axes ----------------------------------------------------------------------------- */

typedef struct log_axis {
    int lo, hi;      /* decades: 10^lo .. 10^hi */
    double px0, px1; /* pixel positions of 10^lo and 10^hi */
} log_axis;

static double axis_px(const log_axis *a, double v)
{
    return a->px0 + (log10(v) - a->lo) * (a->px1 - a->px0) / (a->hi - a->lo);
}

static void axis_fit(log_axis *a, double vmin, double vmax)
{
    a->lo = (int)floor(log10(vmin));
    a->hi = (int)ceil(log10(vmax));
    if (a->hi <= a->lo)
        a->hi = a->lo + 1;
}

static void decade_label(char *buf, size_t len, int e, const char *suffix)
{
    if (e >= 0 && e <= 5)
        snprintf(buf, len, "%.0f%s", pow(10, e), suffix);
    else if (e < 0 && e >= -3)
        snprintf(buf, len, "%.*f%s", -e, pow(10, e), suffix);
    else
        snprintf(buf, len, "1e%d%s", e, suffix);
}

/* ---- roofline ------------------------------------------------------------------------------- */

enum { RL_W = 960, RL_H = 560, RL_LEFT = 84, RL_RIGHT = 196, RL_TOP = 24, RL_BOTTOM = 64 };

typedef struct roof_label {
    double y;
    char text[128];
} roof_label;

static int by_y(const void *a, const void *b)
{
    double d = ((const roof_label *)a)->y - ((const roof_label *)b)->y;
    return (d > 0) - (d < 0);
}

/* The bandwidth roof y = bw * x from the left edge up to the highest peak. */
static void draw_bandwidth(FILE *f, const log_axis *x, const log_axis *y, double bw, double top, const char *dash,
                           const char *text)
{
    double xa = pow(10, x->lo), xb = top / bw;
    if (bw * xa < pow(10, y->lo))
        xa = pow(10, y->lo) / bw;
    if (xb > pow(10, x->hi))
        xb = pow(10, x->hi);
    if (!(xb > xa))
        return;
    double x0 = axis_px(x, xa), y0 = axis_px(y, bw * xa), x1 = axis_px(x, xb), y1 = axis_px(y, bw * xb);
    fprintf(f, "<line class=\"roof roof-bw\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%s><title>", x0, y0, x1, y1,
            dash);
    ck_report_html_escape(f, text);
    fprintf(f, "</title></line>\n");
    double angle = atan2(y1 - y0, x1 - x0) * 180 / M_PI;
    /* the label along the line, a quarter of the way up, just above it */
    double lx = x0 + (x1 - x0) * 0.08, ly = y0 + (y1 - y0) * 0.08 - 6;
    fprintf(f, "<text class=\"roof-label\" x=\"%.1f\" y=\"%.1f\" transform=\"rotate(%.2f %.1f %.1f)\">", lx, ly, angle,
            lx, ly);
    ck_report_html_escape(f, text);
    fprintf(f, "</text>\n");
}

/* The roof lines (inside the clipped plot); their peak labels go to `labels`
 * for the margin right of the plot. Returns how many labels. */
static int draw_roofs(FILE *f, const ck_roofs *rf, const log_axis *x, const log_axis *y, int one_thread_too,
                      roof_label labels[2 * CK_ISA_COUNT])
{
    int n = 0;
    for (int t = one_thread_too ? 0 : 1; t < 2; t++) {
        int threads = t ? rf->threads : 1;
        const char *dash = t ? "" : " stroke-dasharray=\"6 4\"";
        double top = 0;
        for (int isa = 0; isa < CK_ISA_COUNT; isa++) {
            double p = rf->peak_gflops[isa][t];
            if (!(p > 0))
                continue;
            top = p > top ? p : top;
            double xa = p / rf->triad_gbs[t];
            if (xa < pow(10, x->lo))
                xa = pow(10, x->lo);
            double py = axis_px(y, p);
            fprintf(f, "<line class=\"roof roof-peak\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"%s>",
                    axis_px(x, xa), py, axis_px(x, pow(10, x->hi)), py, dash);
            roof_label *l = &labels[n++];
            l->y = py;
            snprintf(l->text, sizeof l->text, "%s %.1f GFLOP/s, %d thr", ck_isa_name(isa), p, threads);
            fprintf(f, "<title>%s FMA peak (calibrate)</title></line>\n", l->text);
        }
        char text[128];
        if (rf->have_levels) { /* the cache-aware roofline: one slanted line per level */
            for (int l = 0; l < CK_MEM_COUNT; l++) {
                double bw = ck_roofs_level_gbs(rf, l, threads);
                snprintf(text, sizeof text, "%s %.1f GB/s (%d thr)", ck_mem_level_name(l), bw, threads);
                if (bw > 0)
                    draw_bandwidth(f, x, y, bw, top > 0 ? top : pow(10, y->hi), dash, text);
            }
            continue;
        }
        snprintf(text, sizeof text, "stream triad %.1f GB/s (%d thr)", rf->triad_gbs[t], threads);
        if (rf->triad_gbs[t] > 0)
            draw_bandwidth(f, x, y, rf->triad_gbs[t], top > 0 ? top : pow(10, y->hi), dash, text);
    }
    return n;
}

/* Peak labels right of the plot, pushed apart where roofs lie close. */
static void draw_roof_labels(FILE *f, roof_label *labels, int n)
{
    qsort(labels, (size_t)n, sizeof labels[0], by_y);
    for (int i = 1; i < n; i++)
        if (labels[i].y < labels[i - 1].y + 14)
            labels[i].y = labels[i - 1].y + 14;
    for (int i = 0; i < n; i++)
        fprintf(f, "<text class=\"roof-label\" x=\"%d\" y=\"%.1f\" dominant-baseline=\"middle\">%s</text>\n",
                RL_W - RL_RIGHT + 6, labels[i].y, labels[i].text);
}

static void draw_log_grid(FILE *f, const log_axis *x, const log_axis *y, const char *xs, const char *ys)
{
    char buf[32];
    for (int e = x->lo; e <= x->hi; e++) {
        double px = axis_px(x, pow(10, e));
        decade_label(buf, sizeof buf, e, xs);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px, y->px0, px, y->px1);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", px, y->px0 + 18,
                buf);
    }
    for (int e = y->lo; e <= y->hi; e++) {
        double py = axis_px(y, pow(10, e));
        decade_label(buf, sizeof buf, e, ys);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x->px0, py, x->px1, py);
        fprintf(f,
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s"
                "</text>\n",
                x->px0 - 8, py, buf);
    }
}

static void point_title(FILE *f, const ck_report_row *row)
{
    char t[32], roof[32];
    ck_report_fmt_time(t, sizeof t, row->time_ns, "\u00b5s");
    ck_report_fmt_roof(roof, sizeof roof, row);
    fputs("<title>", f);
    ck_report_html_escape(f, row->run->tag);
    fputs(": ", f);
    ck_report_html_escape(f, row->label);
    fputs(" \u2014 ", f);
    ck_report_html_escape(f, row->shape);
    fprintf(f, ", %d thr: %.3g flop/B", row->threads, row->intensity);
    if (fabs(row->plot_intensity - row->intensity) > 0.01 * row->intensity)
        fprintf(f, " (drawn at %.3g: its writes priced as calibrate measured them)", row->plot_intensity);
    fprintf(f, ", %.3g GFLOP/s, %s, %s of roof</title>", row->gflops, t, roof);
}

/* The axes of a machine's roofline: every point, and where the machine has
 * roofs, every peak and twice its ridge point. 0 when there is no point. */
static int roofline_axes(const ck_report *r, size_t machine, log_axis *x, log_axis *y, int *one_thread_too)
{
    const ck_report_machine *mc = &r->machines[machine];
    double xmin = INFINITY, xmax = 0, ymin = INFINITY, ymax = 0;
    *one_thread_too = 0;
    for (size_t i = 0; i < r->n_runs; i++)
        for (size_t k = 0; r->runs[i].machine == (int)machine && k < r->runs[i].n_rows; k++) {
            const ck_report_row *row = &r->runs[i].rows[k];
            if (!ck_report_row_on_roofline(row))
                continue;
            xmin = fmin(xmin, row->plot_intensity), xmax = fmax(xmax, row->plot_intensity);
            ymin = fmin(ymin, row->gflops), ymax = fmax(ymax, row->gflops);
            *one_thread_too |= mc->have_roofs && row->threads < mc->roofs.threads;
        }
    if (!(xmax > 0))
        return 0;
    for (int t = 0; mc->have_roofs && t < 2; t++)
        for (int isa = 0; isa < CK_ISA_COUNT; isa++)
            if (mc->roofs.peak_gflops[isa][t] > 0 && mc->roofs.triad_gbs[t] > 0) {
                xmax = fmax(xmax, 2 * mc->roofs.peak_gflops[isa][t] / mc->roofs.triad_gbs[t]);
                ymax = fmax(ymax, mc->roofs.peak_gflops[isa][t]);
            }
    *x = (log_axis){.px0 = RL_LEFT, .px1 = RL_W - RL_RIGHT};
    *y = (log_axis){.px0 = RL_H - RL_BOTTOM, .px1 = RL_TOP};
    axis_fit(x, xmin / 1.3, xmax * 1.3); /* no point on the plot's edge */
    axis_fit(y, ymin / 1.3, ymax * 1.5);
    return 1;
}

static size_t draw_points(const ck_report *r, size_t machine, FILE *f, const log_axis *x, const log_axis *y)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_runs; i++)
        for (size_t k = 0; r->runs[i].machine == (int)machine && k < r->runs[i].n_rows; k++) {
            const ck_report_row *row = &r->runs[i].rows[k];
            if (!ck_report_row_on_roofline(row))
                continue;
            fprintf(f, "<circle class=\"kernel-point\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" data-run=\"",
                    axis_px(x, row->plot_intensity), axis_px(y, row->gflops), ck_report_color(row->run->color));
            ck_report_html_escape(f, row->run->tag);
            fputs("\">", f);
            point_title(f, row);
            fputs("</circle>\n", f);
            n++;
        }
    return n;
}

/* One entry per run on this machine, from the bottom of the right margin up. */
static void draw_legend(const ck_report *r, size_t machine, FILE *f)
{
    int n = 0, row_i = 0;
    for (size_t i = 0; i < r->n_runs; i++)
        n += r->runs[i].machine == (int)machine;
    for (size_t i = 0; i < r->n_runs; i++) {
        if (r->runs[i].machine != (int)machine)
            continue;
        double ly = RL_H - RL_BOTTOM - 14.0 * (double)(n - 1 - row_i++);
        fprintf(f,
                "<circle cx=\"%d\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/><text class=\"legend\" x=\"%d\" y=\"%.1f\" "
                "dominant-baseline=\"middle\">",
                RL_W - RL_RIGHT + 12, ly, ck_report_color(r->runs[i].color), RL_W - RL_RIGHT + 22, ly);
        ck_report_html_escape(f, r->runs[i].tag);
        fputs("</text>\n", f);
    }
}

void ck_report_svg_roofline(const ck_report *r, size_t machine, FILE *f, size_t *n_points)
{
    const ck_report_machine *mc = &r->machines[machine];
    log_axis x, y;
    int one_thread_too;
    *n_points = 0;
    if (!roofline_axes(r, machine, &x, &y, &one_thread_too)) {
        fprintf(f, "<p class=\"note\">No measured kernel with flops on this machine: nothing to place.</p>\n");
        return;
    }
    const int pw = RL_W - RL_LEFT - RL_RIGHT, ph = RL_H - RL_TOP - RL_BOTTOM;
    fprintf(f, "<svg class=\"chart roofline\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"roofline of ", RL_W,
            RL_H);
    ck_report_html_escape(f, mc->host);
    fprintf(f, "\">\n<rect class=\"plot-area\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", RL_LEFT, RL_TOP, pw,
            ph);
    draw_log_grid(f, &x, &y, "", "");
    fprintf(f,
            "<text class=\"axis-label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">arithmetic intensity "
            "(flop/byte, log scale)</text>\n",
            (x.px0 + x.px1) / 2, RL_H - 18);
    fprintf(f,
            "<text class=\"axis-label\" x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
            "%.1f)\">performance (GFLOP/s, log scale)</text>\n",
            (y.px0 + y.px1) / 2, (y.px0 + y.px1) / 2);
    /* roofs and points in a nested viewport that clips them to the plot */
    fprintf(f, "<svg x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"%d %d %d %d\" overflow=\"hidden\">\n",
            RL_LEFT, RL_TOP, pw, ph, RL_LEFT, RL_TOP, pw, ph);
    roof_label labels[2 * CK_ISA_COUNT];
    int n_labels = mc->have_roofs ? draw_roofs(f, &mc->roofs, &x, &y, one_thread_too, labels) : 0;
    *n_points = draw_points(r, machine, f, &x, &y);
    fputs("</svg>\n", f);
    draw_roof_labels(f, labels, n_labels);
    draw_legend(r, machine, f);
    fputs("</svg>\n", f);
}

/* ---- speedup bars ----------------------------------------------------------------------------- */

enum { SB_W = 960, SB_LEFT = 300, SB_RIGHT = 70, SB_TOP = 56, SB_BAR = 13, SB_GAP = 2, SB_GROUP = 10, SB_OP = 18 };

typedef struct row_list {
    const ck_report_row **rows;
    size_t n, cap;
} row_list;

static void collect(const ck_report_row *row, void *arg)
{
    row_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        const ck_report_row **grown = realloc(l->rows, cap * sizeof *grown);
        if (!grown)
            return;
        l->rows = grown;
        l->cap = cap;
    }
    l->rows[l->n++] = row;
}

static int same_group(const ck_report_row *a, const ck_report_row *b)
{
    return a && b && a->threads == b->threads && !strcmp(a->label, b->label) && !strcmp(a->shape, b->shape);
}

/* One bar from the 1x line to the row's speedup, its value at the end. */
static void draw_bar(FILE *f, const log_axis *x, double y, const ck_report_row *row)
{
    double x1 = axis_px(x, 1), x2 = axis_px(x, row->speedup);
    char sp[32];
    ck_report_fmt_speedup(sp, sizeof sp, row);
    fprintf(f,
            "<rect class=\"speedup-bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
            "data-run=\"",
            fmin(x1, x2), y, fmax(fabs(x2 - x1), 1), SB_BAR, ck_report_color(row->run->color));
    ck_report_html_escape(f, row->run->tag);
    fputs("\"><title>", f);
    ck_report_html_escape(f, row->run->tag);
    fputs(": ", f);
    ck_report_html_escape(f, row->label);
    fprintf(f, " %s on %d thr</title></rect>\n", sp, row->threads);
    /* the thread count on every bar: runs at 1 and N threads sit side by side */
    fprintf(f,
            "<text class=\"bar-value\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" dominant-baseline=\"middle\">%s"
            " (%d thr)</text>\n",
            x2 >= x1 ? fmax(x1, x2) + 4 : fmin(x1, x2) - 4, y + SB_BAR / 2.0, x2 >= x1 ? "start" : "end", sp,
            row->threads);
}

void ck_report_svg_speedups(const ck_report *r, const char *model, FILE *f, size_t *n_bars)
{
    *n_bars = 0;
    row_list l = {0};
    const char *ops[64];
    size_t n_ops = ck_report_model_ops(r, model, ops, 64);
    for (size_t i = 0; i < n_ops; i++)
        ck_report_each_row(r, model, ops[i], collect, &l);
    double lo = 1, hi = 1;
    size_t bars = 0, groups = 0, op_heads = 0;
    const ck_report_row *prev = NULL;
    for (size_t i = 0; i < l.n; i++) {
        if (!(l.rows[i]->speedup > 0))
            continue;
        lo = fmin(lo, l.rows[i]->speedup), hi = fmax(hi, l.rows[i]->speedup);
        groups += !same_group(prev, l.rows[i]);
        op_heads += !prev || strcmp(prev->op, l.rows[i]->op);
        prev = l.rows[i];
        bars++;
    }
    if (!bars) {
        fprintf(f, "<p class=\"note\">No speedups for this model: no run measured the scalar reference "
                   "(bench ran with --no-scalar, or the scalar plugin is missing).</p>\n");
        free(l.rows);
        return;
    }
    log_axis x = {.px0 = SB_LEFT, .px1 = SB_W - SB_RIGHT};
    axis_fit(&x, fmin(lo, 0.5), fmax(hi, 2));
    double height =
        SB_TOP + (double)bars * (SB_BAR + SB_GAP) + (double)groups * SB_GROUP + (double)op_heads * SB_OP + 10;
    fprintf(f, "<svg class=\"chart speedups\" viewBox=\"0 0 %d %.0f\" role=\"img\" aria-label=\"speedup over scalar, ",
            SB_W, height);
    ck_report_html_escape(f, model);
    fprintf(f,
            "\">\n<text class=\"axis-label\" x=\"%.1f\" y=\"16\" text-anchor=\"middle\">speedup over the scalar "
            "reference (\u00d7, log scale; right of 1\u00d7 is faster)</text>\n",
            (x.px0 + x.px1) / 2);
    char buf[32];
    for (int e = x.lo; e <= x.hi; e++) {
        double px = axis_px(&x, pow(10, e));
        decade_label(buf, sizeof buf, e, "\u00d7");
        fprintf(f,
                "<line class=\"%s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/><text class=\"tick\" x=\"%.1f\" "
                "y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                e == 0 ? "grid one" : "grid", px, SB_TOP - 8, px, height - 6, px, SB_TOP - 14, buf);
    }
    double y = SB_TOP;
    prev = NULL;
    for (size_t i = 0; i < l.n; i++) {
        const ck_report_row *row = l.rows[i];
        if (!(row->speedup > 0))
            continue;
        if (!prev || strcmp(prev->op, row->op)) { /* a new op: its name, bold */
            y += SB_OP;
            fprintf(f, "<text class=\"op-label\" x=\"8\" y=\"%.1f\" dominant-baseline=\"middle\">", y + 4);
            ck_report_html_escape(f, row->op);
            fputs("</text>\n", f);
        }
        if (!same_group(prev, row)) { /* a new instance: its name on the left */
            y += SB_GROUP;
            fprintf(f,
                    "<text class=\"bar-label\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">",
                    SB_LEFT - 8, y + SB_BAR / 2.0);
            ck_report_html_escape(f, row->label);
            fprintf(f, "<title>");
            ck_report_html_escape(f, row->shape);
            fprintf(f, ", %d thr</title></text>\n", row->threads);
        }
        prev = row;
        draw_bar(f, &x, y, row);
        y += SB_BAR + SB_GAP;
        (*n_bars)++;
    }
    fputs("</svg>\n", f);
    free(l.rows);
}

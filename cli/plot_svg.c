/*
 * plot_svg.c - Line charts written as SVG by hand (see plot_svg.h): the layout, "nice" ticks,
 * thinning long series to the chart's resolution, and XML escaping of the text.
 *
 * Layout, in SVG user units (pixels at 100%): a 960 x 540 canvas, the plot area inset 80 on
 * the left (tick labels and the rotated axis label), 210 on the right (the legend), 60 on
 * top (the title) and 64 below (tick labels and the axis label).
 *
 * Concept: a plotting library would do. Reality: the project takes third-party libraries
 * only from a short list (DESIGN.md), and a line chart is a few hundred lines of text.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot_svg.h"

#define CANVAS_W 960
#define CANVAS_H 540
#define LEFT 80
#define RIGHT 210
#define TOP 60
#define BOTTOM 64
#define PLOT_W (CANVAS_W - LEFT - RIGHT)
#define PLOT_H (CANVAS_H - TOP - BOTTOM)

/* Ten colours that stay apart, also for colour-blind readers (Tableau 10). */
static const char *const palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
static const char *const dashes[3] = {"", " stroke-dasharray=\"7 4\"",
                                      " stroke-dasharray=\"2 3\""};

/* ---- Numbers ------------------------------------------------------------------------------ */

double plot_nice_step(double range, int target)
{
    double raw, mag, frac;

    if (!(range > 0) || !isfinite(range) || target < 1)
        return 1;
    raw = range / target;
    mag = pow(10, floor(log10(raw)));
    frac = raw / mag;
    if (frac < 1.5)
        return mag;
    if (frac < 3)
        return 2 * mag;
    if (frac < 7)
        return 5 * mag;
    return 10 * mag;
}

/* Decimals that show a multiple of `step` exactly (steps are 1, 2 or 5 x 10^k). */
static int decimals_for(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d > 0 ? d : 0;
}

/* ---- Text --------------------------------------------------------------------------------- */

static void put_escaped(FILE *f, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            /* Control characters are not allowed in XML 1.0 text. */
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
        }
    }
}

/* ---- Scales ------------------------------------------------------------------------------- */

struct scale {
    double x_max, y_max, x_step, y_step;
};

static double px(const struct scale *sc, double x)
{
    return LEFT + x / sc->x_max * PLOT_W;
}

static double py(const struct scale *sc, double y)
{
    return TOP + PLOT_H - y / sc->y_max * PLOT_H;
}

static void fit(const struct plot *p, struct scale *sc, size_t *points)
{
    double x_max = 0, y_max = 0;

    *points = 0;
    for (size_t i = 0; i < p->count; i++)
        for (size_t k = 0; k < p->series[i].n; k++) {
            double x = p->series[i].x[k], y = p->series[i].y[k];
            if (!isfinite(x) || !isfinite(y))
                continue;
            x_max = x > x_max ? x : x_max;
            y_max = y > y_max ? y : y_max;
            (*points)++;
        }
    sc->x_max = p->x_max > 0 ? p->x_max : x_max > 0 ? x_max : 1;
    sc->x_step = plot_nice_step(sc->x_max, 8);
    y_max = y_max > 0 ? y_max * 1.05 : 1; /* headroom above the highest line */
    sc->y_step = plot_nice_step(y_max, 6);
    sc->y_max = ceil(y_max / sc->y_step - 1e-9) * sc->y_step;
}

/* ---- Drawing ------------------------------------------------------------------------------ */

static void draw_frame(FILE *f, const struct plot *p, const struct scale *sc)
{
    int xd = decimals_for(sc->x_step), yd = decimals_for(sc->y_step);

    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", CANVAS_W, CANVAS_H);
    fprintf(f, "<text x=\"%d\" y=\"34\" text-anchor=\"middle\" font-size=\"18\" "
               "font-weight=\"bold\" fill=\"#222222\">",
            LEFT + PLOT_W / 2);
    put_escaped(f, p->title);
    fputs("</text>\n", f);

    /* Grid and tick labels. */
    fputs("<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n", f);
    for (int k = 0; k * sc->x_step <= sc->x_max * (1 + 1e-9); k++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
                px(sc, k * sc->x_step), TOP, px(sc, k * sc->x_step), TOP + PLOT_H);
    for (int k = 0; k * sc->y_step <= sc->y_max * (1 + 1e-9); k++)
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", LEFT,
                py(sc, k * sc->y_step), LEFT + PLOT_W, py(sc, k * sc->y_step));
    fputs("</g>\n<g font-size=\"12\" fill=\"#444444\">\n", f);
    for (int k = 0; k * sc->x_step <= sc->x_max * (1 + 1e-9); k++)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f</text>\n",
                px(sc, k * sc->x_step), TOP + PLOT_H + 18, xd, k * sc->x_step);
    for (int k = 0; k * sc->y_step <= sc->y_max * (1 + 1e-9); k++)
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", LEFT - 8,
                py(sc, k * sc->y_step) + 4, yd, k * sc->y_step);
    fputs("</g>\n", f);

    /* Axes and their labels. */
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#888888\"/>\n",
            LEFT, TOP, PLOT_W, PLOT_H);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\" "
               "fill=\"#222222\">",
            LEFT + PLOT_W / 2, CANVAS_H - 18);
    put_escaped(f, p->x_label);
    fprintf(f, "</text>\n<text transform=\"translate(22 %d) rotate(-90)\" "
               "text-anchor=\"middle\" font-size=\"13\" fill=\"#222222\">",
            TOP + PLOT_H / 2);
    put_escaped(f, p->y_label);
    fputs("</text>\n", f);
}

static void put_point(FILE *f, const struct scale *sc, double x, double y)
{
    fprintf(f, "%.2f,%.2f ", px(sc, x), py(sc, y));
}

/*
 * The points of one series, thinned when it has more than a few per pixel column: each
 * column keeps its first, lowest, highest and last point, in time order.
 */
static void draw_points(FILE *f, const struct scale *sc, const struct plot_series *s)
{
    int thin = s->n > 4 * (size_t)PLOT_W;
    size_t k = 0;

    while (k < s->n) {
        size_t first = k, lo = k, hi = k, last = k;
        double column;

        if (!isfinite(s->x[k]) || !isfinite(s->y[k])) {
            k++;
            continue;
        }
        column = floor(px(sc, s->x[k]));
        if (!thin) {
            put_point(f, sc, s->x[k], s->y[k]);
            k++;
            continue;
        }
        for (k++; k < s->n && floor(px(sc, s->x[k])) == column; k++) {
            if (!isfinite(s->y[k]))
                continue;
            lo = s->y[k] < s->y[lo] ? k : lo;
            hi = s->y[k] > s->y[hi] ? k : hi;
            last = k;
        }
        {
            /* first <= lo, hi <= last: emit the four in time order, each once. */
            size_t pick[4] = {first, lo < hi ? lo : hi, lo < hi ? hi : lo, last};
            for (int j = 0; j < 4; j++)
                if (j == 0 || pick[j] != pick[j - 1])
                    put_point(f, sc, s->x[pick[j]], s->y[pick[j]]);
        }
    }
}

static void draw_series(FILE *f, const struct scale *sc, const struct plot_series *s)
{
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" "
               "stroke-linejoin=\"round\"%s points=\"",
            palette[s->color % 10], dashes[s->dash % 3]);
    draw_points(f, sc, s);
    fputs("\"/>\n", f);
}

static void draw_legend(FILE *f, const struct plot *p)
{
    int x = LEFT + PLOT_W + 20;

    fputs("<g font-size=\"12\" fill=\"#222222\">\n", f);
    for (size_t i = 0; i < p->count; i++) {
        const struct plot_series *s = &p->series[i];
        int y = TOP + 12 + (int)i * 22;
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                   "stroke-width=\"2.5\"%s/>\n",
                x, y, x + 28, y, palette[s->color % 10], dashes[s->dash % 3]);
        fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 36, y + 4);
        put_escaped(f, s->label);
        fputs("</text>\n", f);
    }
    fputs("</g>\n", f);
}

int plot_svg_write(FILE *f, const struct plot *p)
{
    struct scale sc;
    size_t points;

    fit(p, &sc, &points);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
               "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, "
               "Arial, sans-serif\">\n<title>",
            CANVAS_W, CANVAS_H, CANVAS_W, CANVAS_H);
    put_escaped(f, p->title);
    fputs("</title>\n", f);
    draw_frame(f, p, &sc);
    fprintf(f, "<clipPath id=\"plot-area\"><rect x=\"%d\" y=\"%d\" width=\"%d\" "
               "height=\"%d\"/></clipPath>\n<g clip-path=\"url(#plot-area)\">\n",
            LEFT, TOP, PLOT_W, PLOT_H);
    for (size_t i = 0; i < p->count; i++)
        draw_series(f, &sc, &p->series[i]);
    fputs("</g>\n", f);
    if (points == 0)
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\" "
                   "fill=\"#888888\">no samples</text>\n",
                LEFT + PLOT_W / 2, TOP + PLOT_H / 2);
    draw_legend(f, p);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}

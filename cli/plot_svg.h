/*
 * plot_svg.h - Line charts as SVG files, written by the project itself (no plotting
 * library): a title, a time axis in seconds and a value axis with ticks and labels, light
 * grid lines, one polyline per series and a legend. Used by `zeus monitor power --plot`.
 *
 * It knows nothing of Zeus: series are arrays of (x, y) numbers with a label and a style.
 */
#ifndef ZEUS_CLI_PLOT_SVG_H
#define ZEUS_CLI_PLOT_SVG_H

#include <stddef.h>
#include <stdio.h>

/* Line styles, to tell series of the same colour apart (for example power domains). */
enum plot_dash { PLOT_SOLID = 0, PLOT_DASHED = 1, PLOT_DOTTED = 2 };

struct plot_series {
    const char *label; /* legend text; escaped for XML when written */
    const double *x;   /* increasing */
    const double *y;
    size_t n;
    unsigned color;    /* index into a palette of ten colours that stay apart */
    enum plot_dash dash;
};

struct plot {
    const char *title;
    const char *x_label; /* "time (s)" */
    const char *y_label; /* "power (W)" */
    double x_max;        /* right end of the x axis; the axis starts at 0. <= 0: from data */
    const struct plot_series *series;
    size_t count;
};

/*
 * Write `p` as a standalone SVG 1.1 document to `f`. The y axis starts at 0 (a chart of
 * watts that does not start at 0 exaggerates changes). A series with more points than the
 * chart has pixels is thinned to each pixel column's first, lowest, highest and last point,
 * which keeps its shape. Returns 0, or -1 when writing failed.
 */
int plot_svg_write(FILE *f, const struct plot *p);

/* "Nice" tick spacing (1, 2 or 5 times a power of ten) for about `target` ticks over range. */
double plot_nice_step(double range, int target);

#endif /* ZEUS_CLI_PLOT_SVG_H */

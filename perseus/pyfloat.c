/*
 * pyfloat.c - Python's float floor division, which lowtime relies on twice: quant_time is
 * int(real_time // unit_time), and flow bounds are rounded as lb // 1e-6 * 1e-6.
 *
 * Concept: x // y is floor(x / y). Reality: CPython computes it from fmod (Objects/
 * floatobject.c, _float_div_mod), and the two differ where x / y rounds up to a whole number:
 * 0.019 // 0.001 is 18.0 in Python (0.019 is 0.018999...), while floor(0.019 / 0.001) is 19.
 * A profile time of exactly 19 ms is common, so the quantized times would differ by one.
 */
#include <math.h>

#include "perseus.h"

double perseus_py_floordiv(double x, double y)
{
    double mod = fmod(x, y);
    double div = (x - mod) / y;
    double floordiv;

    if (mod != 0.0) {
        if ((y < 0) != (mod < 0))
            div -= 1.0;
    }
    if (div != 0.0) {
        floordiv = floor(div);
        if (div - floordiv > 0.5)
            floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, x / y);
    }
    return floordiv;
}

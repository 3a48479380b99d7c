#pragma once
// Statistics for validation tests: the chi-square distribution's upper tail.

#include <cmath>

namespace glia::test {

// Regularised lower incomplete gamma P(a, x) (series for x < a + 1, else continued fraction).
inline double gamma_p(double a, double x) {
    if (x <= 0) {
        return 0;
    }
    const double gln = std::lgamma(a);
    if (x < a + 1) {
        double sum = 1.0 / a, term = sum;
        for (int n = 1; n < 1000; ++n) {
            term *= x / (a + n);
            sum += term;
            if (std::abs(term) < std::abs(sum) * 1e-15) {
                break;
            }
        }
        return sum * std::exp(-x + a * std::log(x) - gln);
    }
    double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
    for (int i = 1; i < 1000; ++i) {
        const double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        d = std::abs(d) < 1e-300 ? 1e-300 : d;
        c = b + an / c;
        c = std::abs(c) < 1e-300 ? 1e-300 : c;
        d = 1 / d;
        const double del = d * c;
        h *= del;
        if (std::abs(del - 1) < 1e-15) {
            break;
        }
    }
    return 1 - std::exp(-x + a * std::log(x) - gln) * h;
}

// P(X >= chi2) for X chi-square distributed with `dof` degrees of freedom.
inline double chi_square_p_value(double chi2, double dof) {
    return 1 - gamma_p(dof / 2, chi2 / 2);
}

}  // namespace glia::test

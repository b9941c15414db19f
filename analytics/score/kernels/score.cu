// Staleness and conflict scoring, one thread per key: the CUDA twin of
// scoreRange in analytics/score/cpu.go. Same formulas, same split at
// x = 1/2, same coefficients; compiled with -fmad=false so that a*b+c is
// rounded twice, as in Go. Regenerate score.ptx with `make analytics-ptx`.

#define SERIES_BELOW 0.5

// g(x) = 1 - (1 - e^-x)/x for 0 <= x < 1/2, Horner form of its Taylor series.
__device__ __forceinline__ double g_series(double x)
{
    const double c2 = 1.0 / 2, c3 = 1.0 / 6, c4 = 1.0 / 24, c5 = 1.0 / 120,
                 c6 = 1.0 / 720, c7 = 1.0 / 5040, c8 = 1.0 / 40320,
                 c9 = 1.0 / 362880, c10 = 1.0 / 3628800, c11 = 1.0 / 39916800,
                 c12 = 1.0 / 479001600, c13 = 1.0 / 6227020800.0,
                 c14 = 1.0 / 87178291200.0, c15 = 1.0 / 1307674368000.0,
                 c16 = 1.0 / 20922789888000.0;
    return x * (c2 - x * (c3 - x * (c4 - x * (c5 - x * (c6 - x * (c7 - x * (c8 - x * (c9 -
           x * (c10 - x * (c11 - x * (c12 - x * (c13 - x * (c14 - x * (c15 - x * c16))))))))))))));
}

__device__ __forceinline__ double one_minus_exp(double x)
{
    if (x < SERIES_BELOW) {
        return x * (1.0 - g_series(x));
    }
    return 1.0 - exp(-x);
}

extern "C" __global__ void score(
    long long n,
    double x_target, double window, double conflict_threshold, double pin_horizon,
    double min_age, double max_age, unsigned int min_age_u, unsigned int max_age_u,
    const double *__restrict__ write_rate, const double *__restrict__ read_rate,
    const double *__restrict__ max_age_in, const double *__restrict__ top_writer_rate,
    double *__restrict__ p_stale, double *__restrict__ expected_stale,
    double *__restrict__ conflict, unsigned int *__restrict__ rec_max_age,
    unsigned char *__restrict__ action)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        double lam = write_rate[i], rho = read_rate[i], t = max_age_in[i], top = top_writer_rate[i];
        double x = lam * t;
        double inv = 1.0 / lam;
        double p, e;
        if (x < SERIES_BELOW) {
            double g = g_series(x);
            p = x * (1.0 - g);
            e = rho * t * g;
        } else {
            p = 1.0 - exp(-x);
            e = rho * (t - p * inv);
        }
        if (!(lam > 0 && rho > 0)) {
            e = 0;
        }
        p_stale[i] = p;
        expected_stale[i] = e;

        double c = 0;
        double rest = lam - top;
        if (top > 0 && rest > 0) {
            c = one_minus_exp(top * window) * one_minus_exp(rest * window);
        }
        conflict[i] = c;

        unsigned int r = max_age_u;
        if (lam > 0) {
            double s = x_target * inv;
            if (s < min_age) {
                r = min_age_u;
            } else if (s < max_age) {
                r = (unsigned int)s;
            }
        }
        rec_max_age[i] = r;

        unsigned char a = 0; // none
        if (c >= conflict_threshold) {
            a = 3; // batch
        } else if (x >= x_target && rho > 0) {
            a = 1; // invalidate early
        } else if (lam * pin_horizon < x_target) {
            a = 2; // pin
        }
        action[i] = a;
    }
}

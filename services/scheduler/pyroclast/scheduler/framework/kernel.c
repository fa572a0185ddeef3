/* The native build of pyroclast.scheduler.framework.kernel: one node search of allocate, and
 * a column write for the matrices it reads.
 *
 * kernel.py, the reference, states what search() computes; this does the same in one walk
 * over the nodes from `start`, without an array over every node. Arrays come in through
 * the buffer protocol: C-contiguous, 8-byte integers or floats, 1-byte booleans.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_NODE_SCORE 100
#define MAX_LABELS 8
#define MEMO 128

typedef struct {
    Py_buffer view;
    int held;
} Array;

/* Borrow `obj`'s buffer (None allowed when `optional`): C-contiguous, items of `size` bytes. */
static int borrow(PyObject *obj, Array *a, Py_ssize_t size, const char *name, int optional, int writable)
{
    a->held = 0;
    if (obj == Py_None) {
        if (optional)
            return 0;
        PyErr_Format(PyExc_TypeError, "%s: an array is required", name);
        return -1;
    }
    if (PyObject_GetBuffer(obj, &a->view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    a->held = 1;
    if (a->view.itemsize != size) {
        PyErr_Format(PyExc_TypeError, "%s: items of %zd bytes expected, got %zd", name, size, a->view.itemsize);
        return -1;
    }
    return 0;
}

static void give_back(Array *a)
{
    if (a->held)
        PyBuffer_Release(&a->view);
    a->held = 0;
}

static inline Py_ssize_t count_of(const Array *a, Py_ssize_t size)
{
    return a->held ? a->view.len / size : 0;
}

/* Python's floor division of integers (b != 0). */
static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q -= 1;
    return q;
}

/* kube-scheduler's normalisation of a raw score by the group's maximum `top`. */
static inline int64_t normalised(int64_t raw, int64_t top, int reverse)
{
    if (top <= 0)
        return reverse ? MAX_NODE_SCORE : raw;
    const int64_t norm = floor_div(MAX_NODE_SCORE * raw, top);
    return reverse ? MAX_NODE_SCORE - norm : norm;
}

#define MAX_COLS 64

/* A walk's inputs and its progress. */
typedef struct {
    const int64_t *const *rows; /* the future rows of the request's columns */
    const int64_t *amounts;
    Py_ssize_t ncols;
    const unsigned char *pmask;
    unsigned char *ok;
    int64_t *task;
    unsigned char *pending;
    int64_t *failing;
    int64_t t;
    int record;
    Py_ssize_t wanted;
    int64_t *taken;
    Py_ssize_t count;
    int64_t stop;
    Py_ssize_t shortfalls, failures;
} Walk;

/* Walk nodes [lo, hi) in blocks of 64: each node's state is computed without branches into
 * bit sets (candidate, short, failing), then the candidates are taken in order up to the stop
 * and the failures before the stop recorded. Whether the walk stopped. */
static int walk(Walk *w, Py_ssize_t lo, Py_ssize_t hi)
{
    for (Py_ssize_t b = lo; b < hi; b += 64) {
        const int len = hi - b < 64 ? (int)(hi - b) : 64;
        const uint64_t all = len == 64 ? ~(uint64_t)0 : (((uint64_t)1 << len) - 1);
        /* one simple loop per input, so that the compiler can vectorise each */
        uint64_t usable = all, unfit = 0, passing = all;
        if (w->ok != NULL) {
            const unsigned char *ok = w->ok + b;
            usable = 0;
            for (int j = 0; j < len; j++)
                usable |= (uint64_t)ok[j] << j;
            if (usable == 0)
                continue; /* every node failed before: nothing to take or record */
        }
        for (Py_ssize_t c = 0; c < w->ncols; c++) {
            const int64_t *row = w->rows[c] + b, amount = w->amounts[c];
            uint64_t bits = 0;
            for (int j = 0; j < len; j++)
                bits |= (uint64_t)(row[j] < amount) << j;
            unfit |= bits;
        }
        if (w->pmask != NULL) {
            const unsigned char *pmask = w->pmask + b;
            passing = 0;
            for (int j = 0; j < len; j++)
                passing |= (uint64_t)pmask[j] << j;
        }
        uint64_t cand = usable & ~unfit & passing;
        const uint64_t shortb = usable & unfit, failb = usable & ~unfit & ~passing;
        uint64_t walked = ~(uint64_t)0; /* the block's nodes up to the stop */
        int stopped = 0;
        while (cand) {
            const int j = __builtin_ctzll(cand);
            cand &= cand - 1;
            if (w->count == w->wanted) {
                w->stop = b + j;
                walked = (2ULL << j) - 1;
                stopped = 1;
                break;
            }
            w->taken[w->count++] = b + j;
        }
        if (w->record) {
            uint64_t bits = shortb & walked;
            while (bits) {
                const Py_ssize_t node = b + __builtin_ctzll(bits);
                bits &= bits - 1;
                w->ok[node] = 0;
                w->task[node] = w->t;
                w->pending[node] = 1;
                w->shortfalls++;
            }
            bits = failb & walked;
            while (bits) {
                const Py_ssize_t node = b + __builtin_ctzll(bits);
                bits &= bits - 1;
                w->ok[node] = 0;
                w->task[node] = w->t;
                w->failing[w->failures++] = node;
            }
        }
        if (stopped)
            return 1;
    }
    return 0;
}

enum {
    A_FUTURE, A_IDLE, A_COLS, A_AMOUNTS, A_PMASK, A_OK, A_TASK, A_PENDING, A_FAILING, A_FVALS, A_IVALS, A_COUNT
};

static PyObject *search(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_ssize_t start, wanted;
    long long t, base;
    int record, scoring;
    PyObject *o[A_COUNT], *labels_obj;
    Array a[A_COUNT], lab[MAX_LABELS];
    int64_t weight[MAX_LABELS], top[MAX_LABELS];
    int reverse[MAX_LABELS];
    Py_ssize_t nlabels = 0, i;
    PyObject *result = NULL;
    int64_t *taken = NULL;
    unsigned char *idle_ok = NULL;
    int64_t *sums = NULL; /* the integer scores of the taken nodes */

    for (i = 0; i < A_COUNT; i++)
        a[i].held = 0;
    for (i = 0; i < MAX_LABELS; i++)
        lab[i].held = 0;
    if (!PyArg_ParseTuple(args, "nnOOOOOOpOOLOpOOLO!:search", &start, &wanted, &o[A_FUTURE], &o[A_IDLE],
                          &o[A_COLS], &o[A_AMOUNTS], &o[A_PMASK], &o[A_OK], &record, &o[A_TASK], &o[A_PENDING],
                          &t, &o[A_FAILING], &scoring, &o[A_FVALS], &o[A_IVALS], &base, &PyTuple_Type,
                          &labels_obj))
        return NULL;
    if (borrow(o[A_FUTURE], &a[A_FUTURE], 8, "future", 0, 0) || borrow(o[A_IDLE], &a[A_IDLE], 8, "idle", 0, 0) ||
        borrow(o[A_COLS], &a[A_COLS], 8, "cols", 0, 0) || borrow(o[A_AMOUNTS], &a[A_AMOUNTS], 8, "amounts", 0, 0) ||
        borrow(o[A_PMASK], &a[A_PMASK], 1, "pmask", 1, 0) || borrow(o[A_OK], &a[A_OK], 1, "ok", 1, 1) ||
        borrow(o[A_TASK], &a[A_TASK], 8, "task", 1, 1) || borrow(o[A_PENDING], &a[A_PENDING], 1, "pending", 1, 1) ||
        borrow(o[A_FAILING], &a[A_FAILING], 8, "failing", 0, 1) || borrow(o[A_FVALS], &a[A_FVALS], 8, "fvals", 1, 0) ||
        borrow(o[A_IVALS], &a[A_IVALS], 8, "ivals", 1, 0))
        goto done;
    nlabels = PyTuple_GET_SIZE(labels_obj);
    if (nlabels > MAX_LABELS) {
        PyErr_Format(PyExc_ValueError, "at most %d labels", MAX_LABELS);
        goto done;
    }
    for (i = 0; i < nlabels; i++) {
        PyObject *item = PyTuple_GET_ITEM(labels_obj, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3) {
            PyErr_SetString(PyExc_TypeError, "a label is (raw, weight, reverse)");
            goto done;
        }
        if (borrow(PyTuple_GET_ITEM(item, 0), &lab[i], 8, "label", 0, 0))
            goto done;
        weight[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(item, 1));
        reverse[i] = PyObject_IsTrue(PyTuple_GET_ITEM(item, 2));
        if ((weight[i] == -1 && PyErr_Occurred()) || reverse[i] < 0)
            goto done;
    }

    if (a[A_FUTURE].view.ndim != 2 || a[A_IDLE].view.ndim != 2 ||
        a[A_IDLE].view.shape[1] != a[A_FUTURE].view.shape[1]) {
        PyErr_SetString(PyExc_ValueError, "future and idle: resource x node matrices of one shape");
        goto done;
    }
    const Py_ssize_t n = a[A_FUTURE].view.shape[1];
    const Py_ssize_t ncols = count_of(&a[A_COLS], 8);
    if (count_of(&a[A_AMOUNTS], 8) != ncols || start < 0 || (n > 0 && start >= n) || wanted < 0) {
        PyErr_SetString(PyExc_ValueError, "cols and amounts differ in length, or start is out of range");
        goto done;
    }
    for (i = A_PMASK; i < A_COUNT; i++) {
        if (i != A_FAILING && a[i].held && count_of(&a[i], a[i].view.itemsize) != n) {
            PyErr_SetString(PyExc_ValueError, "a node array's length is not the number of nodes");
            goto done;
        }
    }
    for (i = 0; i < nlabels; i++) {
        if (count_of(&lab[i], 8) != n) {
            PyErr_SetString(PyExc_ValueError, "a label's length is not the number of nodes");
            goto done;
        }
    }
    if (record && !(a[A_OK].held && a[A_TASK].held && a[A_PENDING].held && count_of(&a[A_FAILING], 8) >= n)) {
        PyErr_SetString(PyExc_ValueError, "recording needs ok, task, pending and room for every node in failing");
        goto done;
    }
    const int64_t *rows = a[A_FUTURE].view.buf, *idle = a[A_IDLE].view.buf;
    const int64_t *cols = a[A_COLS].view.buf, *amounts = a[A_AMOUNTS].view.buf;
    for (i = 0; i < ncols; i++) {
        if (cols[i] < 0 || cols[i] >= a[A_FUTURE].view.shape[0]) {
            PyErr_SetString(PyExc_ValueError, "a column is out of the matrix");
            goto done;
        }
    }
    const unsigned char *pmask = a[A_PMASK].held ? a[A_PMASK].view.buf : NULL;
    unsigned char *ok = a[A_OK].held ? a[A_OK].view.buf : NULL;
    int64_t *task = a[A_TASK].held ? a[A_TASK].view.buf : NULL;
    unsigned char *pending = a[A_PENDING].held ? a[A_PENDING].view.buf : NULL;
    int64_t *failing = a[A_FAILING].view.buf;

    /* The walk: candidates taken in walk order, the stop, the failures recorded. */
    taken = PyMem_Malloc(sizeof(int64_t) * (size_t)(wanted < n ? wanted + 1 : n + 1));
    if (taken == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *future_rows[MAX_COLS];
    if (ncols > MAX_COLS) {
        PyErr_Format(PyExc_ValueError, "at most %d columns", MAX_COLS);
        goto done;
    }
    for (i = 0; i < ncols; i++)
        future_rows[i] = rows + cols[i] * n;
    Walk w = {future_rows, amounts, ncols, pmask, ok, task, pending, failing, (int64_t)t, record, wanted,
              taken, 0, -1, 0, 0};
    if (!walk(&w, start, n))
        walk(&w, 0, start);
    const Py_ssize_t count = w.count, shortfalls = w.shortfalls, failures = w.failures;
    const int64_t stop = w.stop;

    /* The best: node order is walk order from the first taken node below `start`. */
    int64_t best = -1;
    if (count > 0) {
        Py_ssize_t wrap = 0; /* taken[wrap:] are below start: first in node order */
        while (wrap < count && taken[wrap] >= start)
            wrap++;
        idle_ok = PyMem_Malloc((size_t)count);
        sums = PyMem_Malloc(sizeof(int64_t) * (size_t)count);
        if (idle_ok == NULL || sums == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        /* column by column over the taken nodes: simple loops */
        memset(idle_ok, 1, (size_t)count);
        for (Py_ssize_t c = 0; c < ncols; c++) {
            const int64_t *row = idle + cols[c] * n, amount = amounts[c];
            for (i = 0; i < count; i++)
                idle_ok[i] &= (unsigned char)(row[taken[i]] >= amount);
        }
        Py_ssize_t in_idle = 0;
        for (i = 0; i < count; i++)
            in_idle += idle_ok[i];
        const int only_idle = in_idle > 0;
        /* node order: taken[wrap:count], then taken[0:wrap] */
        const Py_ssize_t from[2] = {wrap, 0}, to[2] = {count, wrap};
        if (!scoring) {
            for (int part = 0; part < 2 && best < 0; part++)
                for (Py_ssize_t p = from[part]; p < to[part] && best < 0; p++)
                    if (idle_ok[p])
                        best = taken[p];
            if (best < 0)
                best = taken[wrap % count];
        } else {
            const int64_t *raw[MAX_LABELS];
            for (Py_ssize_t q = 0; q < nlabels; q++) {
                raw[q] = lab[q].view.buf;
                top[q] = INT64_MIN;
            }
            for (i = 0; i < count; i++) {
                if (only_idle && !idle_ok[i])
                    continue;
                for (Py_ssize_t q = 0; q < nlabels; q++) {
                    const int64_t v = raw[q][taken[i]];
                    if (v > top[q])
                        top[q] = v;
                }
            }
            /* each group node's integer score, then the best (first in node order on a tie) */
            const double *fvals = a[A_FVALS].held ? a[A_FVALS].view.buf : NULL;
            const int64_t *ivals = a[A_IVALS].held ? a[A_IVALS].view.buf : NULL;
            for (i = 0; i < count; i++)
                sums[i] = (ivals != NULL ? ivals[taken[i]] : 0) + (int64_t)base;
            for (Py_ssize_t q = 0; q < nlabels; q++) {
                /* normalised values of small raw values, computed once each (-1: not yet) */
                int16_t memo[MEMO];
                memset(memo, 0xff, sizeof(memo));
                const int64_t *values = raw[q], t = top[q], wq = weight[q];
                const int rq = reverse[q];
                for (i = 0; i < count; i++) {
                    if (only_idle && !idle_ok[i])
                        continue; /* (outside the group: not scored) */
                    const int64_t v = values[taken[i]];
                    int64_t norm;
                    if (v >= 0 && v < MEMO && memo[v] >= 0) {
                        norm = memo[v];
                    } else {
                        norm = normalised(v, t, rq);
                        if (v >= 0 && v < MEMO && norm >= 0 && norm <= INT16_MAX)
                            memo[v] = (int16_t)norm;
                    }
                    sums[i] += norm * wq;
                }
            }
            double best_score = 0.0;
            for (int part = 0; part < 2; part++) {
                for (Py_ssize_t p = from[part]; p < to[part]; p++) {
                    if (only_idle && !idle_ok[p])
                        continue;
                    double score = (double)sums[p];
                    if (fvals != NULL)
                        score = fvals[taken[p]] + score;
                    if (best < 0 || score > best_score) {
                        best_score = score;
                        best = taken[p];
                    }
                }
            }
        }
    }
    result = Py_BuildValue("nLLnn", count, (long long)stop, (long long)best, shortfalls, failures);
done:
    PyMem_Free(taken);
    PyMem_Free(idle_ok);
    PyMem_Free(sums);
    for (i = 0; i < A_COUNT; i++)
        give_back(&a[i]);
    for (i = 0; i < MAX_LABELS; i++)
        give_back(&lab[i]);
    return result;
}

static PyObject *put(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *array_obj, *values;
    Py_ssize_t row, column;
    if (!PyArg_ParseTuple(args, "OnnO:put", &array_obj, &row, &column, &values))
        return NULL;
    PyObject *seq = PySequence_Fast(values, "values: a sequence of integers");
    if (seq == NULL)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(array_obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    PyObject *result = NULL;
    const Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    if (view.itemsize != 8 || view.ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "array: a 2-D array of 8-byte integers");
        goto done;
    }
    const Py_ssize_t rows = view.shape[0], n = view.shape[1];
    if (row < 0 || column < 0 || column >= n || row + count > rows) {
        PyErr_SetString(PyExc_IndexError, "the values do not fit in the array there");
        goto done;
    }
    int64_t *data = view.buf;
    for (Py_ssize_t k = 0; k < count; k++) {
        const long long value = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, k));
        if (value == -1 && PyErr_Occurred())
            goto done;
        data[(row + k) * n + column] = value;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&view);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"search", search, METH_VARARGS, "One node search of allocate (see kernel.py)."},
    {"put", put, METH_VARARGS, "Write values down one column of a matrix (see kernel.py)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kernel", "One node search of allocate, native.", 0, methods, slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_kernel(void)
{
    return PyModuleDef_Init(&module);
}

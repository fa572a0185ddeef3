/* The native build of pyroclast.scheduler.plugins.nodeorder_resources: nodeorder's resource
 * scores of nodes. nodeorder_resources.py, the reference, states what scores(), score_at()
 * and charge() compute; this does the same node by node, with the same integer and double
 * operations.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

#define MAX_NODE_SCORE 100
#define ROWS 11

typedef struct {
    long long nz_cpu, nz_mem, cpu, mem, gpu;
    long long least, most, balanced;
} Params;

/* Python's floor division of integers (b != 0). */
static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q -= 1;
    return q;
}

static inline int64_t weighted(int64_t p0, int64_t p1, int64_t a0, int64_t a1, int64_t weight)
{
    int64_t total = 0, weight_sum = 0;
    if (a0 != 0) {
        total += p0 * weight;
        weight_sum += weight;
    }
    if (a1 != 0) {
        total += p1 * weight;
        weight_sum += weight;
    }
    return weight_sum > 0 ? floor_div(total, weight_sum) : 0;
}

static inline double capped(int64_t requested, int64_t safe)
{
    double f = (double)requested / (double)safe;
    return f < 1.0 ? f : 1.0; /* Python's min(f, 1.0): f unless 1.0 is smaller */
}

static int64_t score(const int64_t *rows, Py_ssize_t n, Py_ssize_t i, const Params *p)
{
    const int64_t a_cpu = rows[0 * n + i], a_mem = rows[1 * n + i], a_gpu = rows[2 * n + i];
    const int64_t s_cpu = rows[3 * n + i], s_mem = rows[4 * n + i], s_gpu = rows[5 * n + i];
    const int64_t r_cpu = rows[6 * n + i], r_mem = rows[7 * n + i], r_gpu = rows[8 * n + i];
    const int64_t nz_cpu = rows[9 * n + i], nz_mem = rows[10 * n + i];
    int64_t total = 0;
    if (p->least || p->most) {
        const int64_t q0 = nz_cpu + p->nz_cpu, q1 = nz_mem + p->nz_mem;
        if (p->least) {
            const int64_t p0 = q0 > a_cpu ? 0 : floor_div((a_cpu - q0) * MAX_NODE_SCORE, s_cpu);
            const int64_t p1 = q1 > a_mem ? 0 : floor_div((a_mem - q1) * MAX_NODE_SCORE, s_mem);
            total += weighted(p0, p1, a_cpu, a_mem, 50) * p->least;
        }
        if (p->most) {
            const int64_t p0 = floor_div((q0 < a_cpu ? q0 : a_cpu) * MAX_NODE_SCORE, s_cpu);
            const int64_t p1 = floor_div((q1 < a_mem ? q1 : a_mem) * MAX_NODE_SCORE, s_mem);
            total += weighted(p0, p1, a_cpu, a_mem, 1) * p->most;
        }
    }
    if (p->balanced) {
        const double f0 = capped(r_cpu + p->cpu, s_cpu), f1 = capped(r_mem + p->mem, s_mem);
        const double f2 = capped(r_gpu + p->gpu, s_gpu);
        const int v0 = a_cpu != 0, v1 = a_mem != 0, v2 = a_gpu != 0 && p->gpu != 0;
        double std = 0.0;
        if (v0 + v1 + v2 == 2) {
            const double x = v0 ? f0 : f1, y = (v0 && v1) ? f1 : f2;
            std = fabs((x - y) / 2);
        } else if (v0 + v1 + v2 == 3) {
            const double mean = (f0 + f1 + f2) / 3;
            double sq = (f0 - mean) * (f0 - mean);
            sq = sq + (f1 - mean) * (f1 - mean);
            sq = sq + (f2 - mean) * (f2 - mean);
            std = sqrt(sq / 3);
        }
        total += (int64_t)trunc((1 - std) * MAX_NODE_SCORE) * p->balanced;
    }
    return total;
}

static int borrow_rows(PyObject *obj, Py_buffer *view, Py_ssize_t *n)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->itemsize != 8 || view->ndim != 2 || view->shape[0] != ROWS) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "rows: an 11 x node matrix of 8-byte integers");
        return -1;
    }
    *n = view->shape[1];
    return 0;
}

static PyObject *scores(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *rows_obj, *idx_obj, *out_obj;
    Params p;
    if (!PyArg_ParseTuple(args, "OOO(LLLLL)(LLL):scores", &rows_obj, &idx_obj, &out_obj, &p.nz_cpu, &p.nz_mem,
                          &p.cpu, &p.mem, &p.gpu, &p.least, &p.most, &p.balanced))
        return NULL;
    Py_buffer rows, idx, out;
    Py_ssize_t n;
    if (borrow_rows(rows_obj, &rows, &n) < 0)
        return NULL;
    if (PyObject_GetBuffer(idx_obj, &idx, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&rows);
        return NULL;
    }
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&idx);
        PyBuffer_Release(&rows);
        return NULL;
    }
    PyObject *result = NULL;
    const Py_ssize_t count = idx.len / 8;
    if (idx.itemsize != 8 || out.itemsize != 8 || out.len / 8 != count) {
        PyErr_SetString(PyExc_ValueError, "idx and out: as many 8-byte integers");
        goto done;
    }
    const int64_t *at = idx.buf;
    for (Py_ssize_t j = 0; j < count; j++) {
        if (at[j] < 0 || at[j] >= n) {
            PyErr_SetString(PyExc_IndexError, "a node index is out of the rows");
            goto done;
        }
    }
    int64_t *dest = out.buf;
    for (Py_ssize_t j = 0; j < count; j++)
        dest[j] = score(rows.buf, n, at[j], &p);
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&rows);
    return result;
}

static PyObject *score_at(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *rows_obj;
    Py_ssize_t i, n;
    Params p;
    if (!PyArg_ParseTuple(args, "On(LLLLL)(LLL):score_at", &rows_obj, &i, &p.nz_cpu, &p.nz_mem, &p.cpu, &p.mem,
                          &p.gpu, &p.least, &p.most, &p.balanced))
        return NULL;
    Py_buffer rows;
    if (borrow_rows(rows_obj, &rows, &n) < 0)
        return NULL;
    if (i < 0 || i >= n) {
        PyBuffer_Release(&rows);
        PyErr_SetString(PyExc_IndexError, "a node index is out of the rows");
        return NULL;
    }
    const int64_t value = score(rows.buf, n, i, &p);
    PyBuffer_Release(&rows);
    return PyLong_FromLongLong(value);
}

static PyObject *charge(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *rows_obj;
    Py_ssize_t i, n;
    long long c[5], sign;
    if (!PyArg_ParseTuple(args, "On(LLLLL)L:charge", &rows_obj, &i, &c[0], &c[1], &c[2], &c[3], &c[4], &sign))
        return NULL;
    Py_buffer rows;
    if (PyObject_GetBuffer(rows_obj, &rows, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return NULL;
    if (rows.itemsize != 8 || rows.ndim != 2 || rows.shape[0] != ROWS) {
        PyBuffer_Release(&rows);
        PyErr_SetString(PyExc_ValueError, "rows: an 11 x node matrix of 8-byte integers");
        return NULL;
    }
    n = rows.shape[1];
    if (i < 0 || i >= n) {
        PyBuffer_Release(&rows);
        PyErr_SetString(PyExc_IndexError, "a node index is out of the rows");
        return NULL;
    }
    int64_t *data = rows.buf;
    for (int k = 0; k < 5; k++)
        data[(6 + k) * n + i] += (int64_t)(c[k] * sign);
    PyBuffer_Release(&rows);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"charge", charge, METH_VARARGS, "Add a task's requests to a node's sums (see nodeorder_resources.py)."},
    {"scores", scores, METH_VARARGS, "The scores of nodes idx, written to out (see nodeorder_resources.py)."},
    {"score_at", score_at, METH_VARARGS, "The score of node i (see nodeorder_resources.py)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "nodeorder_resources", "nodeorder's resource scores of nodes, native.", 0, methods,
    slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_nodeorder_resources(void)
{
    return PyModuleDef_Init(&module);
}

/* model_eq.h — field-by-field equality of model values for the codec tests: two models
 * are equal when every attribute, value (typed; doubles by their bits), resource and scope
 * is. Include after cmocka.h. */
#ifndef LT_TESTS_MODEL_EQ_H
#define LT_TESTS_MODEL_EQ_H

#include "model/model.h"

static void eq_attrs(const lt_attrs *a, const lt_attrs *b);

static void eq_str(lt_str a, lt_str b)
{
    assert_int_equal(a.len, b.len);
    if (a.len) assert_memory_equal(a.ptr, b.ptr, a.len);
}

static void eq_value(const lt_value *a, const lt_value *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case LT_VAL_STRING:
    case LT_VAL_BYTES:
        eq_str(a->u.s, b->u.s);
        break;
    case LT_VAL_BOOL:
        assert_int_equal(a->u.b, b->u.b);
        break;
    case LT_VAL_INT:
        assert_int_equal(a->u.i, b->u.i);
        break;
    case LT_VAL_DOUBLE:
        assert_memory_equal(&a->u.d, &b->u.d, 8);
        break;
    case LT_VAL_ARRAY:
        assert_int_equal(a->u.arr.n, b->u.arr.n);
        for (uint32_t i = 0; i < a->u.arr.n; i++)
            eq_value(&a->u.arr.items[i], &b->u.arr.items[i]);
        break;
    case LT_VAL_KVLIST:
        eq_attrs(&a->u.kv, &b->u.kv);
        break;
    default:
        break;
    }
}

static void eq_attrs(const lt_attrs *a, const lt_attrs *b)
{
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++) {
        eq_str(a->items[i].key, b->items[i].key);
        eq_value(&a->items[i].value, &b->items[i].value);
    }
}

static void eq_resource(const lt_resource *a, const lt_resource *b)
{
    eq_attrs(&a->attrs, &b->attrs);
    assert_int_equal(a->dropped_attributes_count, b->dropped_attributes_count);
}

static void eq_scope(const lt_scope *a, const lt_scope *b)
{
    eq_str(a->name, b->name);
    eq_str(a->version, b->version);
    eq_attrs(&a->attrs, &b->attrs);
    assert_int_equal(a->dropped_attributes_count, b->dropped_attributes_count);
}

#endif

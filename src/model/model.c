/* model.c — lookups over the model of model.h. */
#include "model/model.h"

const lt_value *model_attr_get(const lt_attrs *a, lt_str key)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (lt_str_eq(a->items[i].key, key)) return &a->items[i].value;
    return NULL;
}

lt_str model_service_name(const lt_resource *r)
{
    const lt_value *v = model_attr_get(&r->attrs, LT_STR("service.name"));
    if (v && v->type == LT_VAL_STRING && v->u.s.len) return v->u.s;
    return LT_STR("unknown_service");
}

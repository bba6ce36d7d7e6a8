/* policy_yaml.c - libyaml events to a node tree, with the limits that keep
 * hostile input (alias bombs, deep nesting) from costing time or memory. */
#include "policy_internal.h"

#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define ANCHOR_BUCKETS 1024

typedef struct child child_t;
struct child {
    child_t *next;
    policy_node_t *node;
};

typedef struct {
    policy_node_t *node;
    const char *anchor;
    child_t *head;
    child_t *tail;
    size_t count;
} frame_t;

typedef struct anchor anchor_t;
struct anchor {
    anchor_t *next;
    const char *name;
    policy_node_t *node;
};

typedef struct {
    policy_arena_t *arena;
    policy_errors_t *errs;
    frame_t stack[POLICY_MAX_DEPTH];
    size_t depth;
    anchor_t *anchors[ANCHOR_BUCKETS];
    size_t total;
    size_t documents;
    policy_node_t *root;
    bool failed;
    bool stop;
} loader_t;

static void s_oom(loader_t *self)
{
    policy_errors_set_out_of_memory(self->errs);
    self->failed = true;
    self->stop = true;
}

static void s_error(loader_t *self, const yaml_mark_t *mark, bool fatal,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void s_error(loader_t *self, const yaml_mark_t *mark, bool fatal,
                    const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    policy_errors_add(self->errs, (int)mark->line + 1, (int)mark->column + 1,
                      "%s", message);
    self->failed = true;
    if (fatal)
        self->stop = true;
}

static size_t s_hash(const char *name)
{
    size_t hash = 5381;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        hash = hash * 33 + *p;
    return hash % ANCHOR_BUCKETS;
}

/* Anchors are registered when their node is complete, so an alias inside
 * its own anchor's node is undefined and the tree cannot contain a cycle. */
static void s_anchor_register(loader_t *self, const char *name,
                              policy_node_t *node)
{
    anchor_t *anchor = policy_arena_alloc(self->arena, sizeof(*anchor));
    if (!anchor) {
        s_oom(self);
        return;
    }
    size_t bucket = s_hash(name);
    anchor->name = name;
    anchor->node = node;
    anchor->next = self->anchors[bucket];
    self->anchors[bucket] = anchor;
}

static policy_node_t *s_anchor_find(loader_t *self, const char *name)
{
    for (anchor_t *a = self->anchors[s_hash(name)]; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a->node;
    return NULL;
}

/* Counts nodes as they would be after alias expansion and stops the
 * parse when the document grows past the limit. */
static bool s_count(loader_t *self, size_t nodes, const yaml_mark_t *mark,
                    const char *alias)
{
    self->total += nodes;
    if (self->total <= POLICY_MAX_NODES)
        return true;
    if (alias)
        s_error(self, mark, true,
                "alias *%.64s expands the document beyond %d nodes", alias,
                POLICY_MAX_NODES);
    else
        s_error(self, mark, true, "document has more than %d nodes",
                POLICY_MAX_NODES);
    return false;
}

static void s_attach(loader_t *self, policy_node_t *node)
{
    if (self->depth == 0) {
        self->root = node;
        return;
    }
    frame_t *frame = &self->stack[self->depth - 1];
    child_t *child = policy_arena_alloc(self->arena, sizeof(*child));
    if (!child) {
        s_oom(self);
        return;
    }
    child->node = node;
    if (frame->tail)
        frame->tail->next = child;
    else
        frame->head = child;
    frame->tail = child;
    frame->count++;
    frame->node->expanded += node->expanded;
}

static policy_node_t *s_node_new(loader_t *self, policy_node_kind_t kind,
                                 const yaml_mark_t *mark)
{
    policy_node_t *node = policy_arena_alloc(self->arena, sizeof(*node));
    if (!node) {
        s_oom(self);
        return NULL;
    }
    node->kind = kind;
    node->line = (int)mark->line + 1;
    node->column = (int)mark->column + 1;
    node->expanded = 1;
    return node;
}

static const char *s_copy(loader_t *self, const yaml_char_t *text)
{
    if (!text)
        return NULL;
    char *copy = policy_arena_strndup(self->arena, (const char *)text,
                                      strlen((const char *)text));
    if (!copy)
        s_oom(self);
    return copy;
}

static void s_check_tag(loader_t *self, const yaml_event_t *event,
                        const yaml_char_t *tag)
{
    if (tag)
        s_error(self, &event->start_mark, false,
                "YAML tags are not supported ('%.64s')", (const char *)tag);
}

static void s_scalar(loader_t *self, yaml_event_t *event)
{
    s_check_tag(self, event, event->data.scalar.tag);
    if (!s_count(self, 1, &event->start_mark, NULL))
        return;
    policy_node_t *node =
        s_node_new(self, POLICY_NODE_SCALAR, &event->start_mark);
    if (!node)
        return;
    size_t len = event->data.scalar.length;
    char *value = policy_arena_strndup(
        self->arena, (const char *)event->data.scalar.value, len);
    if (!value) {
        s_oom(self);
        return;
    }
    node->value = value;
    node->length = len;
    node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (event->data.scalar.anchor) {
        const char *anchor = s_copy(self, event->data.scalar.anchor);
        if (!anchor)
            return;
        s_anchor_register(self, anchor, node);
    }
    s_attach(self, node);
}

static void s_start(loader_t *self, yaml_event_t *event,
                    policy_node_kind_t kind, const yaml_char_t *anchor,
                    const yaml_char_t *tag)
{
    s_check_tag(self, event, tag);
    if (self->depth == POLICY_MAX_DEPTH) {
        s_error(self, &event->start_mark, true,
                "nesting is deeper than %d levels", POLICY_MAX_DEPTH);
        return;
    }
    if (!s_count(self, 1, &event->start_mark, NULL))
        return;
    policy_node_t *node = s_node_new(self, kind, &event->start_mark);
    if (!node)
        return;
    frame_t *frame = &self->stack[self->depth];
    memset(frame, 0, sizeof(*frame));
    frame->node = node;
    if (anchor) {
        frame->anchor = s_copy(self, anchor);
        if (!frame->anchor)
            return;
    }
    self->depth++;
}

static void s_end(loader_t *self)
{
    frame_t *frame = &self->stack[--self->depth];
    policy_node_t *node = frame->node;
    if (frame->count > 0) {
        node->items = policy_arena_calloc(self->arena, frame->count,
                                          sizeof(*node->items));
        if (!node->items) {
            s_oom(self);
            return;
        }
        size_t i = 0;
        for (child_t *c = frame->head; c; c = c->next)
            node->items[i++] = c->node;
    }
    node->count = frame->count;
    if (frame->anchor)
        s_anchor_register(self, frame->anchor, node);
    s_attach(self, node);
}

/* Whether name anchors a node still being read, one the alias sits in. */
static bool s_anchor_open(const loader_t *self, const char *name)
{
    for (size_t i = 0; i < self->depth; i++)
        if (self->stack[i].anchor && strcmp(self->stack[i].anchor, name) == 0)
            return true;
    return false;
}

static void s_alias(loader_t *self, yaml_event_t *event)
{
    const char *name = (const char *)event->data.alias.anchor;
    policy_node_t *target = s_anchor_find(self, name);
    if (!target && s_anchor_open(self, name)) {
        s_error(self, &event->start_mark, true,
                "alias *%.64s refers to the node it is part of, which is not "
                "complete yet",
                name);
        return;
    }
    /* The likeliest undefined alias is an unquoted glob like *-gpu, which
     * POLICY.md warns of: say what the fix is. */
    if (!target) {
        s_error(self, &event->start_mark, true,
                "undefined alias *%.64s (quote a value that starts with "
                "'*')",
                name);
        return;
    }
    if (!s_count(self, target->expanded, &event->start_mark, name))
        return;
    s_attach(self, target);
}

/* Turns libyaml's own error into a positioned message. */
static void s_parser_error(loader_t *self, const yaml_parser_t *parser,
                           const char *text, size_t len)
{
    if (parser->error == YAML_MEMORY_ERROR) {
        s_oom(self);
        return;
    }
    yaml_mark_t mark = parser->problem_mark;
    if (parser->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark. */
        memset(&mark, 0, sizeof(mark));
        for (size_t i = 0; i < parser->problem_offset && i < len; i++) {
            if (text[i] == '\n') {
                mark.line++;
                mark.column = 0;
            } else {
                mark.column++;
            }
        }
    }
    const char *problem = parser->problem ? parser->problem : "invalid YAML";
    if (parser->context)
        policy_errors_add(self->errs, (int)mark.line + 1, (int)mark.column + 1,
                          "YAML syntax error: %s (%s at %d:%d)", problem,
                          parser->context, (int)parser->context_mark.line + 1,
                          (int)parser->context_mark.column + 1);
    else
        policy_errors_add(self->errs, (int)mark.line + 1, (int)mark.column + 1,
                          "YAML syntax error: %s", problem);
    self->failed = true;
    self->stop = true;
}

/* Hands one event to the tree builder; returns false at the stream end. */
static bool s_event(loader_t *self, yaml_event_t *event)
{
    switch (event->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++self->documents > 1)
            s_error(self, &event->start_mark, true,
                    "only one YAML document is allowed");
        break;
    case YAML_SCALAR_EVENT:
        s_scalar(self, event);
        break;
    case YAML_SEQUENCE_START_EVENT:
        s_start(self, event, POLICY_NODE_SEQUENCE,
                event->data.sequence_start.anchor,
                event->data.sequence_start.tag);
        break;
    case YAML_MAPPING_START_EVENT:
        s_start(self, event, POLICY_NODE_MAPPING,
                event->data.mapping_start.anchor,
                event->data.mapping_start.tag);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        s_end(self);
        break;
    case YAML_ALIAS_EVENT:
        s_alias(self, event);
        break;
    case YAML_STREAM_END_EVENT:
        return false;
    default:
        break;
    }
    return true;
}

policy_node_t *policy_yaml_load(policy_arena_t *arena, const char *text,
                                size_t len, policy_errors_t *errs, bool *ok)
{
    loader_t *self = policy_arena_alloc(arena, sizeof(*self));
    if (!self) {
        policy_errors_set_out_of_memory(errs);
        *ok = false;
        return NULL;
    }
    self->arena = arena;
    self->errs = errs;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        policy_errors_set_out_of_memory(errs);
        *ok = false;
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    bool more = true;
    while (more && !self->stop) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            s_parser_error(self, &parser, text, len);
            break;
        }
        more = s_event(self, &event);
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    *ok = !self->failed;
    return self->failed ? NULL : self->root;
}

/* Counts what the loader counts against POLICY_MAX_NODES: every scalar,
 * sequence and mapping. Only for text without aliases (the normal form),
 * so nothing needs to be followed or kept. */
bool policy_yaml_count_nodes(const char *text, size_t len, size_t *nodes)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return false;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    bool ok = true;
    bool more = true;
    *nodes = 0;
    while (more) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            ok = false;
            break;
        }
        if (event.type == YAML_ALIAS_EVENT)
            ok = false;
        else if (event.type == YAML_SCALAR_EVENT ||
                 event.type == YAML_SEQUENCE_START_EVENT ||
                 event.type == YAML_MAPPING_START_EVENT)
            (*nodes)++;
        more = ok && event.type != YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    return ok;
}

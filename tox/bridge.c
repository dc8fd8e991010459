// C glue between libtoxcore and the Go package: see bridge.h.

#include <string.h>

#include "bridge.h"
#include "_cgo_export.h"

static void cb_self_connection(Tox *tox, Tox_Connection status, void *ud)
{
    (void)tox;
    toxmailSelfConnection((uintptr_t)ud, (int)status);
}

static void cb_friend_request(Tox *tox, const uint8_t *pk, const uint8_t *msg, size_t len, void *ud)
{
    (void)tox;
    toxmailFriendRequest((uintptr_t)ud, (uint8_t *)pk, (uint8_t *)msg, len);
}

static void cb_friend_connection(Tox *tox, uint32_t fn, Tox_Connection status, void *ud)
{
    (void)tox;
    toxmailFriendConnection((uintptr_t)ud, fn, (int)status);
}

static void cb_friend_message(Tox *tox, uint32_t fn, Tox_Message_Type type, const uint8_t *msg, size_t len,
                              void *ud)
{
    (void)tox;
    toxmailFriendMessage((uintptr_t)ud, fn, (int)type, (uint8_t *)msg, len);
}

static void cb_friend_lossless(Tox *tox, uint32_t fn, const uint8_t *data, size_t len, void *ud)
{
    (void)tox;
    toxmailFriendLossless((uintptr_t)ud, fn, (uint8_t *)data, len);
}

static void cb_friend_name(Tox *tox, uint32_t fn, const uint8_t *name, size_t len, void *ud)
{
    (void)tox;
    toxmailFriendName((uintptr_t)ud, fn, (uint8_t *)name, len);
}

static void cb_friend_read_receipt(Tox *tox, uint32_t fn, uint32_t message_id, void *ud)
{
    (void)tox;
    toxmailFriendReadReceipt((uintptr_t)ud, fn, message_id);
}

void toxmail_install_callbacks(Tox *tox)
{
    tox_callback_self_connection_status(tox, cb_self_connection);
    tox_callback_friend_request(tox, cb_friend_request);
    tox_callback_friend_connection_status(tox, cb_friend_connection);
    tox_callback_friend_message(tox, cb_friend_message);
    tox_callback_friend_lossless_packet(tox, cb_friend_lossless);
    tox_callback_friend_name(tox, cb_friend_name);
    tox_callback_friend_read_receipt(tox, cb_friend_read_receipt);
}

void toxmail_iterate(Tox *tox, uintptr_t handle)
{
    tox_iterate(tox, (void *)handle);
}

static void cb_log_all(Tox *tox, Tox_Log_Level level, const char *file, uint32_t line, const char *func,
                       const char *message, void *ud)
{
    (void)tox;
    toxmailLog((uintptr_t)ud, (int)level, (char *)file, line, (char *)func, (char *)message);
}

static void cb_log_debug(Tox *tox, Tox_Log_Level level, const char *file, uint32_t line, const char *func,
                         const char *message, void *ud)
{
    if (level < TOX_LOG_LEVEL_DEBUG) {
        return;
    }
    cb_log_all(tox, level, file, line, func, message, ud);
}

static void cb_log_info(Tox *tox, Tox_Log_Level level, const char *file, uint32_t line, const char *func,
                        const char *message, void *ud)
{
    if (level < TOX_LOG_LEVEL_INFO) {
        return;
    }
    cb_log_all(tox, level, file, line, func, message, ud);
}

static void cb_log_warning(Tox *tox, Tox_Log_Level level, const char *file, uint32_t line, const char *func,
                           const char *message, void *ud)
{
    if (level < TOX_LOG_LEVEL_WARNING) {
        return;
    }
    cb_log_all(tox, level, file, line, func, message, ud);
}

static void cb_log_error(Tox *tox, Tox_Log_Level level, const char *file, uint32_t line, const char *func,
                         const char *message, void *ud)
{
    if (level < TOX_LOG_LEVEL_ERROR) {
        return;
    }
    cb_log_all(tox, level, file, line, func, message, ud);
}

void toxmail_options_set_log(struct Tox_Options *opts, uintptr_t handle, int min_level)
{
    tox_log_cb *cb;
    switch (min_level) {
    case TOX_LOG_LEVEL_TRACE:
        cb = cb_log_all;
        break;
    case TOX_LOG_LEVEL_DEBUG:
        cb = cb_log_debug;
        break;
    case TOX_LOG_LEVEL_INFO:
        cb = cb_log_info;
        break;
    case TOX_LOG_LEVEL_WARNING:
        cb = cb_log_warning;
        break;
    default:
        cb = cb_log_error;
        break;
    }
    tox_options_set_log_callback(opts, cb);
    tox_options_set_log_user_data(opts, (void *)handle);
}

void toxmail_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--) {
        *v++ = 0;
    }
}

/*
 * http_json.c - One JSON request to the optimizers' servers (http_json.h).
 */
#include "util/http_json.h"

#include <stdio.h>
#include <string.h>

void zeus__http_json_try(CURL *h, const char *url, const char *method, const char *body,
                         long connect_timeout_s, long timeout_s, zeus__http_body *reply,
                         long *http, char *err, size_t err_len)
{
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURLcode rc;

    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, zeus__http_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(h);
    *http = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
    else
        snprintf(err, err_len, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(headers);
}

zeus_status zeus__http_json_status(long http)
{
    if (http == 404)
        return ZEUS_ERR_NOT_FOUND;
    if (http >= 400 && http < 500)
        return ZEUS_ERR_INVALID_ARGUMENT;
    return ZEUS_ERR_IO;
}

cJSON *zeus__http_json_parse(const char *text)
{
    const char *t = text != NULL ? text : "";

    return t[strspn(t, " \t\r\n")] == '\0' ? cJSON_CreateNull() : cJSON_Parse(t);
}

package org.orchestrator.webconsole;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * JSON reading and writing for the REST API and the console page. Request bodies are parsed into a
 * tree by hand rather than bound to classes, so that every field is validated with a precise 400
 * message and no Jackson type magic reaches our objects.
 */
public final class Json {

    /** Shared, thread-safe mapper. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();

    private Json() {
    }

    /**
     * Reads a request body that must be one JSON object.
     *
     * @throws ApiError 400 for a malformed or non-object body, 413 when the (bounded) stream
     *                  overflows
     */
    public static ObjectNode readObject(InputStream body) {
        JsonNode node;
        try {
            node = body == null ? null : MAPPER.readTree(body);
        } catch (BodyTooLargeException e) {
            throw new ApiError(413, e.getMessage());
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("malformed JSON: " + brief(e.getOriginalMessage()));
        } catch (IOException e) {
            if (e.getCause() instanceof BodyTooLargeException tooLarge) {
                throw new ApiError(413, tooLarge.getMessage());
            }
            throw ApiError.badRequest("could not read the request body: " + e.getMessage());
        }
        if (node == null || node.isMissingNode()) {
            throw ApiError.badRequest("the request body must be a JSON object, got nothing");
        }
        if (!node.isObject()) {
            throw ApiError.badRequest("the request body must be a JSON object, got " + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        }
        return (ObjectNode) node;
    }

    /** Jackson's messages may append a source excerpt after a newline or "(start marker at": keep the gist. */
    private static String brief(String message) {
        if (message == null) {
            return "unreadable input";
        }
        String first = message.lines().findFirst().orElse(message);
        int marker = first.indexOf(" (start marker");
        String gist = marker > 0 ? first.substring(0, marker) : first;
        return gist.length() > 200 ? gist.substring(0, 200) + "..." : gist;
    }

    /**
     * @return the field as text, or {@code null} when it is absent or JSON null
     * @throws ApiError 400 when it is present with another type
     */
    public static String optionalText(ObjectNode object, String field) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw ApiError.badRequest("field '" + field + "' must be a string");
        }
        return value.textValue();
    }

    /**
     * @return the field as non-empty text
     * @throws ApiError 400 when it is absent, empty or not a string
     */
    public static String requiredText(ObjectNode object, String field) {
        String value = optionalText(object, field);
        if (value == null || value.isEmpty()) {
            throw ApiError.badRequest("field '" + field + "' is required");
        }
        return value;
    }

    /**
     * Rejects fields that the endpoint does not know, so that a typo is reported instead of ignored.
     *
     * @throws ApiError 400 naming the first unknown field
     */
    public static void onlyFields(ObjectNode object, String... known) {
        Iterator<String> names = object.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            boolean found = false;
            for (String k : known) {
                if (k.equals(name)) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                throw ApiError.badRequest("unknown field " + org.orchestrator.api.lease.Identifiers.quote(name)
                    + "; expected " + String.join(", ", known));
            }
        }
    }

    /** @return the error body {@code {"error": message, "status": status}} */
    public static Map<String, Object> error(int status, String message) {
        java.util.LinkedHashMap<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("error", message);
        body.put("status", status);
        return body;
    }

    /** @return {@code value} written as compact JSON */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }
}

package org.orchestrator.webconsole.rest;

import java.io.IOException;

import javax.servlet.ServletConfig;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;

import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.servlet.ServletContainer;

/**
 * Jersey's servlet container plus one request attribute: the peer's address, which filters read
 * as a request property (Jersey maps properties onto servlet attributes). That spares injecting
 * a proxied {@code HttpServletRequest} into singleton filters.
 */
public final class RestContainer extends ServletContainer {

    /** The request property holding {@code HttpServletRequest#getRemoteAddr()}. */
    public static final String REMOTE_ADDRESS = "org.orchestrator.webconsole.remoteAddress";

    private static final long serialVersionUID = 1L;

    public RestContainer(ResourceConfig config) {
        super(config);
    }

    @Override
    public void init(ServletConfig config) throws ServletException {
        // Jersey loads some classes by name through the thread context class loader while it
        // starts; this bundle's loader imports every package the application uses, the loader
        // that Pax Web's thread carries may not
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(RestContainer.class.getClassLoader());
        try {
            super.init(config);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    @Override
    public void service(ServletRequest request, ServletResponse response) throws ServletException, IOException {
        request.setAttribute(REMOTE_ADDRESS, request.getRemoteAddr());
        super.service(request, response);
    }
}

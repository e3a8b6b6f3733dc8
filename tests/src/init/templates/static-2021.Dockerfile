# Step 1: the static web site's image.
#
# TODO: pick a base image with a web server (the 2021 report used php:apache; nginx or httpd
#       are fine too), copy your site into the directory it serves, and say which port it
#       listens on (EXPOSE): the proxy sends traffic to that port.
#
# Rules: no host name, address or port of another container in here. Every static server runs
# this same image.
#
# FROM ...
# COPY site/ ...
# EXPOSE 80

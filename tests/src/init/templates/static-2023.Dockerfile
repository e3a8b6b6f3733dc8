# Step 1: the static web site's image, served by nginx.
#
# TODO: start from nginx, copy your own nginx.conf and your site (a free one-page template),
#       and say which port nginx listens on (EXPOSE): the proxy sends traffic to that port.
#
# FROM nginx:...
# COPY nginx.conf /etc/nginx/nginx.conf
# COPY site/ ...
# EXPOSE 80

-- One database per component: services never share tables.
CREATE DATABASE gateway;
CREATE DATABASE catalog;
CREATE DATABASE feedback;
CREATE DATABASE launch;
CREATE DATABASE pricing;

import{cp as i}from"./index-BAJtEHL7.js";const n=o=>["",...i].includes(o);export{n as i};

import{cp as i}from"./index-ia5sSVmm.js";const n=o=>["",...i].includes(o);export{n as i};
